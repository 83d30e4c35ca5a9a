/** What the benchmarks share: percentiles and writing their figures into docs/benchmarks.md. */
import { readFile, writeFile } from 'node:fs/promises';

/** The `q`-th percentile (0–100) of `values`, nearest-rank; NaN for none. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Replace the section between `<!-- bench:NAME -->` markers in docs/benchmarks.md. */
export async function writeDocs(name: string, report: string): Promise<void> {
  const file = new URL('../docs/benchmarks.md', import.meta.url);
  const text = await readFile(file, 'utf8');
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs/benchmarks.md has no ${begin} … ${end} section`);
  await writeFile(file, `${text.slice(0, i + begin.length)}\n${report}\n${text.slice(j)}`);
  process.stderr.write(`docs/benchmarks.md updated (${name})\n`);
}
