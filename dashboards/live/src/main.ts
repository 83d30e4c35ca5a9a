/** The operator page: Vue, the two languages, and the application shell. */
import { createApp } from 'vue';
import App from './App.vue';
import { i18n } from './i18n/index.ts';
import './styles.css';

createApp(App).use(i18n).mount('#app');
