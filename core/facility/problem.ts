/**
 * A problem found in a facility file, located by its path in the data (`meters[4].parent`).
 */

/** One step of a path: an object key or an array index. */
export type PathSegment = string | number;

/** A problem located in the data, before it is located in the file's text. */
export interface PathProblem {
  /** Where: `['meters', 4, 'parent']`. Empty for a problem of the whole file. */
  path: PathSegment[];
  /** What is wrong, for a person: `no meter "b1-e-mian"`. */
  message: string;
  /**
   * Which part of the text to point at: the value at `path` (default), the key of the last
   * segment (an unknown field), or the mapping that should hold it (a missing field).
   */
  at?: 'value' | 'key' | 'parent';
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** `['meters', 4, 'parent']` → `meters[4].parent`; keys that are not plain words are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
