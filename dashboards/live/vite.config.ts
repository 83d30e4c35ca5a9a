/**
 * The operator page's build: Vue 3 single-file components into static files in `dist/`, which the
 * api serves at `/`. `npm run build:live` (scripts/build-live.js) runs it; so does `npm ci`
 * (`prepare`) and the browser tests when `dist/` is older than the sources.
 *
 * Everything the page needs is in `dist/`: no CDN, no web fonts, no map tiles. The page runs
 * under a strict Content-Security-Policy (scripts, styles and websockets from the same origin
 * only), so the build emits no inline script: the module-preload polyfill is left out (every
 * browser the page supports has `modulepreload`).
 */
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  plugins: [vue()],
  define: {
    // vue-i18n's composition API only; its messages are compiled without eval (CSP-safe).
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __VUE_OPTIONS_API__: false,
    __VUE_PROD_DEVTOOLS__: false,
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: false,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    // ECharts and the other libraries in chunks of their own: they change less often than the
    // page, so a browser keeps them across releases.
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender)[\\/]/ },
            { name: 'vendor', test: /node_modules[\\/]/ },
          ],
        },
      },
    },
    reportCompressedSize: false,
  },
  server: {
    // `npx vite dashboards/live` during development, against a running `facility start`.
    proxy: {
      '/api': process.env.FACILITY_API ?? 'http://127.0.0.1:8080',
      '/socket.io': { target: process.env.FACILITY_API ?? 'http://127.0.0.1:8080', ws: true },
    },
  },
});
