/**
 * Whether dist/ holds the compiled JavaScript of the current sources: what `bin/facility.js`
 * asks before it runs dist/, and what `scripts/build.js` writes down (dist/build.json) after it
 * compiled. Plain JavaScript, so it runs before anything is built.
 *
 * The build lists every source file it compiled (cli/main.ts and all it imports, statically or
 * not), each with the SHA-256 of its contents, its size and its modification time, and the
 * package version. (Data files such as the demo facility are read from the sources.) dist/ is fresh while every listed file still has
 * its contents: a file whose size and time are as listed is taken as unchanged (a few `stat`s,
 * so the command starts at once); any other is hashed again. A changed, moved or deleted source
 * makes dist/ stale; a new file does once something imports it (which changes that file).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the build writes down what it compiled. */
export const STAMP = 'dist/build.json';

/**
 * What the build notes of a file (a path from `root`): the SHA-256 of its contents, size and time.
 * @param {string} root
 * @param {string} file
 * @returns {{ sha256: string, size: number, mtimeMs: number }}
 */
export function fingerprint(root, file) {
  const path = join(root, file);
  const { size, mtimeMs } = statSync(path);
  return { sha256: createHash('sha256').update(readFileSync(path)).digest('hex'), size, mtimeMs };
}

/**
 * Whether dist/ under `root` is the build of the sources there: `{ fresh: true }`, or
 * `{ fresh: false, reason }` with a reason a person can act on.
 * @param {string} [root]
 * @returns {{ fresh: true } | { fresh: false, reason: string }}
 */
export function buildState(root = ROOT) {
  /** @type {{ version: string, files: Record<string, { sha256: string, size: number, mtimeMs: number }> }} */
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, STAMP), 'utf8'));
  } catch {
    return { fresh: false, reason: 'there is no compiled JavaScript in dist/ yet' };
  }
  let version;
  try {
    version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  } catch {
    return { fresh: false, reason: 'package.json cannot be read' };
  }
  if (version !== stamp.version) {
    return {
      fresh: false,
      reason: `dist/ was built for version ${stamp.version}, the package is ${version}`,
    };
  }
  for (const [file, noted] of Object.entries(stamp.files ?? {})) {
    let now;
    try {
      now = statSync(join(root, file));
    } catch {
      return { fresh: false, reason: `dist/ is older than the sources (${file} is gone)` };
    }
    if (now.size === noted.size && now.mtimeMs === noted.mtimeMs) continue;
    if (fingerprint(root, file).sha256 !== noted.sha256) {
      return { fresh: false, reason: `dist/ is older than the sources (${file} changed)` };
    }
  }
  return { fresh: true };
}
