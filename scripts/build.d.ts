/** Types of scripts/build.js (plain JavaScript: it runs before anything is built). */

/** Builds dist/ under `root` (default: the package's); resolves with how many modules it compiled. */
export function build(root?: string): Promise<number>;
