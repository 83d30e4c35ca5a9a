#!/usr/bin/env node
/**
 * `npm run build:live`, and `prepare` (so `npm ci` and `npm install` run it): builds the operator
 * page (dashboards/live, Vite) into dashboards/live/dist/, which the api serves at `/`.
 *
 * dist/ gets a stamp, `.sources`, with the fingerprint of what it was built from (the page's
 * sources, its Vite config and the lock file, which pins Vue, ECharts and the rest); `--if-stale`
 * builds only when the stamp does not match, which the browser tests' global setup uses.
 *
 * Without Vite installed (`npm ci --omit=dev`) it says so and builds nothing (exit status 0, so
 * such an install still succeeds): the api then has no page to serve at `/`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LIVE = join(ROOT, 'dashboards', 'live');
export const DIST = join(LIVE, 'dist');
const STAMP = join(DIST, '.sources');

/** The files the page is built from, sorted, relative to the repository. */
function sources() {
  const files = [join(ROOT, 'package-lock.json'), join(LIVE, 'index.html'), join(LIVE, 'vite.config.ts')];
  for (const folder of ['src', 'public']) {
    const walk = (dir) => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk(join(LIVE, folder));
  }
  return files.filter((f) => existsSync(f)).sort();
}

/** SHA-256 over the sources' paths and contents. */
export function fingerprint() {
  const hash = createHash('sha256');
  for (const file of sources()) {
    hash.update(relative(ROOT, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Whether dist/ holds a build of the current sources. */
export function isCurrent() {
  try {
    return readFileSync(STAMP, 'utf8').trim() === fingerprint();
  } catch {
    return false;
  }
}

/**
 * Builds the page; returns false when Vite is not installed.
 * @param {{ quiet?: boolean }} [options]
 */
export async function buildLive(options = {}) {
  /** @type {typeof import('vite')} */
  let vite;
  try {
    vite = await import('vite');
  } catch {
    process.stderr.write(
      'build:live: Vite is not installed (npm ci --omit=dev?), so the operator page is not built; ' +
        'the api has no page to serve at / until `npm ci && npm run build:live` has run.\n',
    );
    return false;
  }
  const started = performance.now();
  const print = fingerprint();
  await vite.build({
    configFile: join(LIVE, 'vite.config.ts'),
    logLevel: options.quiet ? 'warn' : 'info',
  });
  writeFileSync(STAMP, `${print}\n`);
  if (!options.quiet) {
    process.stdout.write(
      `build:live: dashboards/live/dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && isCurrent()) {
    process.stdout.write('build:live: dashboards/live/dist/ is current\n');
  } else {
    await buildLive();
  }
}
