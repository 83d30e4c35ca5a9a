/** Types of scripts/build-state.js (plain JavaScript: it runs before anything is built). */

/** The package's root folder. */
export const ROOT: string;
/** Where the build writes down what it compiled, from the root. */
export const STAMP: string;
/** What the build notes of a file (a path from `root`): the SHA-256 of its contents, size and time. */
export function fingerprint(root: string, file: string): { sha256: string; size: number; mtimeMs: number };
/** Whether dist/ under `root` is the build of the sources there, or why not. */
export function buildState(root?: string): { fresh: true } | { fresh: false; reason: string };
