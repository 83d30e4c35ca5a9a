/**
 * The thin file reader in front of `core/facility/load.ts`: every command that takes a
 * facility file (check, start, api, simulate…) reads it through here.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { DEMO_FACILITY_PATH } from '../core/facility/demo.ts';
import { type LoadResult, loadFacility } from '../core/facility/load.ts';

/** The facility file could not be read (missing, a directory, no permission…). */
export class FacilityFileError extends Error {
  override name = 'FacilityFileError';
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
};

/**
 * How to show a path: as given, or for the built-in demo its path relative to the working
 * directory when that is shorter.
 */
function displayName(path: string | undefined, cwd: string): string {
  if (path !== undefined) return path;
  const rel = relative(cwd, DEMO_FACILITY_PATH);
  return rel.startsWith('..') || isAbsolute(rel) ? DEMO_FACILITY_PATH : rel;
}

/**
 * Reads and loads a facility file; without a path, the built-in demo facility.
 *
 * @returns the name to show for the file, and the load result (problems are a result).
 * @throws FacilityFileError when the file cannot be read.
 */
export async function readFacilityFile(
  path: string | undefined,
  cwd: string = process.cwd(),
): Promise<{ file: string; result: LoadResult }> {
  const file = displayName(path, cwd);
  const absolute = path === undefined ? DEMO_FACILITY_PATH : resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new FacilityFileError(
      `cannot read facility file "${file}": ${REASONS[code] ?? (error as Error).message}`,
      { cause: error },
    );
  }
  return { file, result: loadFacility(text, file) };
}
