#!/usr/bin/env node
/**
 * `npm run build`, and `prepare` (so `npm ci` and `npm install` run it): compiles the TypeScript
 * of the `facility` command into dist/ so that it starts without compiling anything at run time.
 *
 * From cli/main.ts it follows every relative import (static or dynamic) and transpiles each file
 * to its own .js in dist/, at the same path, relative imports rewritten from .ts to .js (the
 * compiler's `rewriteRelativeImportExtensions`), with a source map back to the .ts. Transpiling
 * file by file is what `isolatedModules` (tsconfig.json) guarantees works; type errors are
 * `npm run check`'s business. A syntax error fails the build.
 *
 * It writes dist/package.json (the version the code reads as `../package.json`, and
 * `"type": "module"`), and dist/build.json: the files it compiled and their fingerprints, which `bin/facility.js` checks before it runs dist/
 * (scripts/build-state.js).
 *
 * Without TypeScript installed (`npm ci --omit=dev`) it says so and leaves no dist/; `facility`
 * then runs the sources through tsx.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fingerprint, ROOT, STAMP } from './build-state.js';

/** The entry point of the command; everything it imports is compiled with it. */
const ENTRY = 'cli/main.ts';

/**
 * Builds dist/ under `root`; returns how many modules it compiled.
 * @param {string} [root]
 * @returns {Promise<number>}
 */
export async function build(root = ROOT) {
  const started = performance.now();
  /** @type {typeof import('typescript')} */
  let ts;
  try {
    ts = (await import('typescript')).default;
  } catch {
    process.stderr.write(
      'build: TypeScript is not installed (npm ci --omit=dev?), so there is no compiled JavaScript in dist/; ' +
        '`facility` runs the TypeScript sources through tsx instead.\n',
    );
    return 0;
  }
  const dist = join(root, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    rewriteRelativeImportExtensions: true,
    sourceMap: true,
  };
  /** Paths from the root, in the order they were reached. */
  const sources = [];
  const seen = new Set([ENTRY]);
  const queue = [ENTRY];
  const problems = [];
  while (queue.length > 0) {
    const file = /** @type {string} */ (queue.shift());
    sources.push(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!fileName.startsWith('.') || !fileName.endsWith('.ts')) continue;
      const target = relative(root, resolve(root, dirname(file), fileName))
        .split('\\')
        .join('/');
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
    const out = join(dist, file.replace(/\.ts$/, '.js'));
    const result = ts.transpileModule(text, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: { ...options, sourceRoot: relative(dirname(out), join(root, dirname(file))) },
    });
    problems.push(...(result.diagnostics ?? []));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, result.outputText);
    if (result.sourceMapText) writeFileSync(`${out}.map`, result.sourceMapText);
  }
  if (problems.length > 0) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    rmSync(dist, { recursive: true, force: true });
    throw new Error(`build failed:\n${ts.formatDiagnostics(problems, host)}`);
  }
  sources.sort();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  writeFileSync(
    join(dist, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }, null, 2)}\n`,
  );
  const stamp = {
    version: pkg.version,
    sources,
    files: Object.fromEntries(sources.map((file) => [file, fingerprint(root, file)])),
  };
  writeFileSync(join(root, STAMP), `${JSON.stringify(stamp, null, 2)}\n`);
  const ms = Math.round(performance.now() - started);
  process.stderr.write(`build: ${sources.length} modules compiled into dist/ in ${ms} ms\n`);
  return sources.length;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(ROOT, 'scripts/build.js')) {
  try {
    await build();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
