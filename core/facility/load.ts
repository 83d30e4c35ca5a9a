/**
 * Loading a facility file: YAML text in, a validated {@link Facility} or every problem out, each
 * with its path and its `line:col` in the text. Pure: the caller reads the file.
 */
import { isMap, isScalar, LineCounter, type Node, parseDocument, type Document as YamlDocument } from 'yaml';
import { formatPath, type PathProblem, type PathSegment } from './problem.ts';
import type { Facility } from './schema.ts';
import { validateFacility } from './validate.ts';

/** A problem in a facility file, located in its text. */
export interface Problem {
  /** The file name given to {@link loadFacility}. */
  file: string;
  /** Path of the field at fault, `meters[4].parent`; empty for a problem of the file as a whole. */
  path: string;
  /** What is wrong, for a person: `no meter "b1-e-mian"`. */
  message: string;
  /** 1-based line of the text the problem points at, when known. */
  line?: number;
  /** 1-based column, when known. */
  col?: number;
}

/** Outcome of {@link loadFacility}. Bad content is a result, never a throw. */
export type LoadResult = { ok: true; facility: Facility } | { ok: false; problems: Problem[] };

/**
 * Parses, validates and cross-checks a facility file, reporting every problem at once, sorted by
 * position in the file.
 *
 * @param text The file's content (YAML 1.2; a leading BOM is ignored).
 * @param file The file name, used only in the problems.
 */
export function loadFacility(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };

  // Duplicate keys leave a usable document; any other syntax error does not.
  const syntax = doc.errors.filter((error) => error.code !== 'DUPLICATE_KEY');
  const duplicates = doc.errors.filter((error) => error.code === 'DUPLICATE_KEY');
  const yamlProblems: Array<Problem & { offset: number }> = doc.errors.map((error) => ({
    file,
    path: '',
    message: `YAML: ${error.message.split('\n')[0]}`,
    ...at(error.pos[0]),
    offset: error.pos[0],
  }));
  if (syntax.length > 0) return { ok: false, problems: yamlProblems.map(stripOffset) };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return {
      ok: false,
      problems: [{ file, path: '', message: `YAML: ${(error as Error).message}`, line: 1, col: 1 }],
    };
  }
  const result = validateFacility(data);
  if (result.ok && duplicates.length === 0) return result;

  const located = (result.ok ? [] : result.problems).map((problem, order) => {
    const offset = locate(doc, problem);
    return { file, path: formatPath(problem.path), message: problem.message, ...at(offset), offset, order };
  });
  const problems = [...yamlProblems.map((p, order) => ({ ...p, order: -1 - order })), ...located].sort(
    (a, b) =>
      (a.offset ?? Number.POSITIVE_INFINITY) - (b.offset ?? Number.POSITIVE_INFINITY) || a.order - b.order,
  );
  return { ok: false, problems: problems.map(stripOffset) };
}

function stripOffset<T extends Problem & { offset?: number | undefined; order?: number }>(
  problem: T,
): Problem {
  const { file, path, message, line, col } = problem;
  return line === undefined || col === undefined
    ? { file, path, message }
    : { file, path, message, line, col };
}

/** Start offset of the text a problem points at, or of the nearest enclosing node that exists. */
function locate(doc: YamlDocument, problem: PathProblem): number | undefined {
  const { path } = problem;
  if (problem.at === 'key' && path.length > 0) {
    const parent = doc.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
      const key = pair?.key as Node | undefined;
      if (key?.range) return key.range[0];
    }
  }
  let prefix: PathSegment[] = problem.at === 'parent' ? path.slice(0, -1) : path;
  for (;;) {
    const node = prefix.length === 0 ? doc.contents : doc.getIn(prefix, true);
    const range = (node as Node | null | undefined)?.range;
    if (range) return range[0];
    if (prefix.length === 0) return undefined;
    prefix = prefix.slice(0, -1);
  }
}

/** One problem as a line: `file:line:col  path: message`. */
export function formatProblem(problem: Problem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.col}`;
  return problem.path === ''
    ? `${where}  ${problem.message}`
    : `${where}  ${problem.path}: ${problem.message}`;
}
