/**
 * Ledger entries as a person writes them — through the API or a finance office's CSV export
 * (`facility costs import`) — checked and resolved against the facility, pure.
 *
 * **CSV import.** The file is UTF-8 (with or without a byte-order mark) or, when it is not valid
 * UTF-8, GBK/GB18030 (what Excel saves as "CSV" on a Chinese Windows). The first row names the
 * columns, in Chinese or English, in any order; unknown columns are refused (a typo would lose data):
 *
 * | column | Chinese headers | English headers |
 * |---|---|---|
 * | date | 日期, 发生日期, 费用日期 | date |
 * | item | 费用项目, 项目, 费用类别 | item |
 * | subject kind | 对象类型, 类型 | subjectKind, subject kind, kind |
 * | subject | 对象, 对象编号, 车牌, 车牌号 | subject, id |
 * | amount | 金额, 金额(元), 金额（元） | amount, amountCny, amount (CNY) |
 * | note (optional) | 备注, 说明 | note |
 *
 * Values: dates `2026-11-05`, `2026/11/5` or `2026年11月5日`; items by id (`repair`) or Chinese
 * label (`维修`); subject kinds `vehicle|building|department|room` or 车辆, 楼宇, 部门, 房间; a
 * subject by id, a car also by its plate (`川A·3G816`, spaces and dots ignored), a building,
 * department or room also by its Chinese or English name; amounts in yuan with at most two
 * decimals, `¥`, `￥` and thousands separators allowed. Every bad row is reported with its line
 * and column; a file with any bad row imports nothing.
 *
 * **Once.** Each row's entry is keyed (`sourceKey`) by the SHA-256 of the file's text (line
 * endings and encoding aside) and its line, so importing the same file again stores nothing again;
 * two equal rows of one file are two entries (two tyres bought the same day are two costs).
 */
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { DateTime } from 'luxon';
import type { Facility } from '../facility/schema.ts';
import {
  LEDGER_ITEM_LABELS,
  LEDGER_ITEMS,
  type LedgerItem,
  SUBJECT_KIND_LABELS,
  SUBJECT_KINDS,
  type Subject,
  type SubjectKind,
} from './model.ts';
import type { NewCostEntry } from './ports.ts';

/** Largest amount of one entry, CNY (a typo with extra zeros is refused). */
export const MAX_AMOUNT_CNY = 100_000_000;
export const MAX_NOTE_LENGTH = 500;
/** Most rows of one import. */
export const MAX_IMPORT_ROWS = 10_000;

/** A subject given by kind and id (or plate, or name). Undefined when the facility has no such one. */
export function resolveSubject(facility: Facility, kind: SubjectKind, text: string): Subject | undefined {
  const value = text.trim();
  const plate = (s: string) => s.replace(/[\s·•.-]/g, '').toUpperCase();
  switch (kind) {
    case 'vehicle': {
      const v = facility.vehicles.find((x) => x.id === value || plate(x.plate) === plate(value));
      return v && { kind, id: v.id };
    }
    case 'building': {
      const b = facility.buildings.find((x) => x.id === value || x.name.zh === value || x.name.en === value);
      return b && { kind, id: b.id };
    }
    case 'department': {
      const d = facility.departments.find(
        (x) => x.id === value || x.name.zh === value || x.name.en === value,
      );
      return d && { kind, id: d.id };
    }
    case 'room': {
      const r = facility.rooms.find((x) => x.id === value || x.name.zh === value || x.name.en === value);
      return r && { kind, id: r.id };
    }
  }
}

/** An amount in yuan with at most two decimals, > 0 and ≤ {@link MAX_AMOUNT_CNY}; or why not. */
export function parseAmount(text: string): { ok: true; value: number } | { ok: false; reason: string } {
  const cleaned = text
    .trim()
    .replace(/^[¥￥]\s*/, '')
    .replace(/[,，\s]/g, '')
    .replace(/元$/, '');
  if (!/^\d+(\.\d{1,2})?$/.test(cleaned)) {
    return {
      ok: false,
      reason: `"${text}" is not an amount in yuan with at most two decimals (e.g. 1280.50)`,
    };
  }
  return checkAmount(Number(cleaned));
}

export function checkAmount(value: number): { ok: true; value: number } | { ok: false; reason: string } {
  if (!Number.isFinite(value) || value <= 0) return { ok: false, reason: 'must be more than 0' };
  if (value > MAX_AMOUNT_CNY)
    return { ok: false, reason: `must be at most ${MAX_AMOUNT_CNY.toLocaleString('en-US')} CNY` };
  if (Math.abs(Math.round(value * 100) - value * 100) > 1e-6)
    return { ok: false, reason: 'has more than two decimals (fen)' };
  return { ok: true, value: Math.round(value * 100) / 100 };
}

/** A date written `YYYY-MM-DD`, `YYYY/M/D` or `YYYY年M月D日`, as `YYYY-MM-DD`; or why not. */
export function parseDate(text: string): { ok: true; value: string } | { ok: false; reason: string } {
  const match = /^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$/.exec(text);
  if (!match) return { ok: false, reason: `"${text}" is not a date (write 2026-11-05)` };
  const iso = `${match[1]}-${(match[2] as string).padStart(2, '0')}-${(match[3] as string).padStart(2, '0')}`;
  const date = DateTime.fromISO(iso, { zone: 'UTC' });
  if (!date.isValid)
    return { ok: false, reason: `"${text}" is not a date (${date.invalidExplanation ?? 'invalid'})` };
  return { ok: true, value: iso };
}

/** A date no earlier than 2000 and no later than today at the site; or why not. */
export function checkDate(date: string, today: string): string | undefined {
  if (date < '2000-01-01') return `${date} is before 2000`;
  if (date > today) return `${date} is in the future (today is ${today} at the site)`;
  return undefined;
}

/** A ledger item by id or Chinese label. */
export function parseItem(text: string): LedgerItem | undefined {
  const value = text.trim();
  const lower = value.toLowerCase();
  const byId = LEDGER_ITEMS.find((item) => item.toLowerCase() === lower);
  if (byId) return byId;
  const aliases: Record<string, LedgerItem> = {
    保养: 'maintenance',
    维护: 'maintenance',
    维修费: 'repair',
    修理: 'repair',
    物业: 'propertyService',
    物业费: 'propertyService',
    工程: 'works',
  };
  return (
    LEDGER_ITEMS.find(
      (item) => LEDGER_ITEM_LABELS[item].zh === value || LEDGER_ITEM_LABELS[item].en.toLowerCase() === lower,
    ) ?? aliases[value]
  );
}

export function parseSubjectKind(text: string): SubjectKind | undefined {
  const value = text.trim();
  const aliases: Record<string, SubjectKind> = {
    楼栋: 'building',
    建筑: 'building',
    科室: 'department',
    会议室: 'room',
    车: 'vehicle',
  };
  return (
    SUBJECT_KINDS.find((kind) => kind === value.toLowerCase() || SUBJECT_KIND_LABELS[kind].zh === value) ??
    aliases[value]
  );
}

type Column = 'date' | 'item' | 'subjectKind' | 'subject' | 'amount' | 'note';

const HEADERS: Readonly<Record<string, Column>> = {
  日期: 'date',
  发生日期: 'date',
  费用日期: 'date',
  date: 'date',
  费用项目: 'item',
  项目: 'item',
  费用类别: 'item',
  item: 'item',
  对象类型: 'subjectKind',
  类型: 'subjectKind',
  subjectkind: 'subjectKind',
  'subject kind': 'subjectKind',
  subject_kind: 'subjectKind',
  kind: 'subjectKind',
  对象: 'subject',
  对象编号: 'subject',
  车牌: 'subject',
  车牌号: 'subject',
  subject: 'subject',
  id: 'subject',
  金额: 'amount',
  '金额(元)': 'amount',
  '金额（元）': 'amount',
  amount: 'amount',
  amountcny: 'amount',
  'amount (cny)': 'amount',
  备注: 'note',
  说明: 'note',
  note: 'note',
};
const REQUIRED: readonly Column[] = ['date', 'item', 'subjectKind', 'subject', 'amount'];

export interface ImportProblem {
  /** 1-based line of the file. */
  readonly line: number;
  /** The column at fault, as the file names it (absent for a problem of the whole row or file). */
  readonly column?: string;
  readonly message: string;
}

export type ImportResult =
  | { readonly ok: true; readonly entries: NewCostEntry[]; readonly encoding: 'utf-8' | 'gbk' }
  | { readonly ok: false; readonly problems: ImportProblem[]; readonly encoding?: 'utf-8' | 'gbk' };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The file's text: UTF-8 when it is valid UTF-8 (BOM dropped), else GBK (GB18030). */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: 'utf-8' | 'gbk' } {
  try {
    return { text: strictUtf8.decode(bytes).replace(/^\uFEFF/, ''), encoding: 'utf-8' };
  } catch {
    return { text: iconv.decode(Buffer.from(bytes), 'gb18030'), encoding: 'gbk' };
  }
}

/**
 * The entries of a CSV export, every one checked (see the module comment), or every problem.
 * `today` is the site's date (no future costs).
 */
export function parseCostCsv(bytes: Uint8Array, facility: Facility, today: string): ImportResult {
  const { text, encoding } = decodeCsv(bytes);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 1;
    return { ok: false, encoding, problems: [{ line, message: `not CSV: ${(error as Error).message}` }] };
  }
  const head = records[0];
  if (!head)
    return {
      ok: false,
      encoding,
      problems: [{ line: 1, message: 'the file is empty: it needs a header row and at least one row' }],
    };
  const problems: ImportProblem[] = [];
  const columns = new Map<Column, number>();
  head.record.forEach((name, index) => {
    const column = HEADERS[name.trim().toLowerCase()] ?? HEADERS[name.trim()];
    if (!column) {
      problems.push({
        line: head.info.lines,
        column: name,
        message: `unknown column "${name}"; the columns are 日期/date, 费用项目/item, 对象类型/subjectKind, 对象/subject, 金额/amount, 备注/note`,
      });
    } else if (columns.has(column)) {
      problems.push({
        line: head.info.lines,
        column: name,
        message: `column "${name}" says the same as column ${(columns.get(column) as number) + 1}`,
      });
    } else columns.set(column, index);
  });
  for (const column of REQUIRED) {
    if (!columns.has(column))
      problems.push({
        line: head.info.lines,
        message: `no ${column} column (e.g. ${Object.entries(HEADERS).find(([, c]) => c === column)?.[0]})`,
      });
  }
  if (problems.length > 0) return { ok: false, encoding, problems };
  const rows = records.slice(1);
  if (rows.length === 0)
    return {
      ok: false,
      encoding,
      problems: [{ line: head.info.lines, message: 'no rows under the header' }],
    };
  if (rows.length > MAX_IMPORT_ROWS) {
    return {
      ok: false,
      encoding,
      problems: [
        {
          line: head.info.lines,
          message: `${rows.length} rows: import at most ${MAX_IMPORT_ROWS} at a time`,
        },
      ],
    };
  }
  const names = head.record;
  const fileKey = createHash('sha256').update(text.replace(/\r\n?/g, '\n')).digest('hex').slice(0, 32);
  const entries: NewCostEntry[] = [];
  for (const { record, info } of rows) {
    const line = info.lines;
    const cell = (column: Column) => record[columns.get(column) ?? -1] ?? '';
    const fault = (column: Column, message: string) =>
      problems.push({ line, column: names[columns.get(column) as number] as string, message });
    if (record.length > names.length && record.slice(names.length).some((v) => v !== '')) {
      problems.push({ line, message: `${record.length} cells, the header has ${names.length}` });
    }
    const date = parseDate(cell('date'));
    if (!date.ok) fault('date', date.reason);
    else {
      const bad = checkDate(date.value, today);
      if (bad) fault('date', bad);
    }
    const item = parseItem(cell('item'));
    if (!item)
      fault(
        'item',
        `"${cell('item')}" is not a cost item (${LEDGER_ITEMS.map((i) => `${i} ${LEDGER_ITEM_LABELS[i].zh}`).join(', ')})`,
      );
    const kind = parseSubjectKind(cell('subjectKind'));
    let subject: Subject | undefined;
    if (!kind)
      fault(
        'subjectKind',
        `"${cell('subjectKind')}" is not one of vehicle 车辆, building 楼宇, department 部门, room 房间`,
      );
    else {
      subject = resolveSubject(facility, kind, cell('subject'));
      if (!subject) fault('subject', `no ${kind} "${cell('subject')}" in the facility`);
    }
    const amount = parseAmount(cell('amount'));
    if (!amount.ok) fault('amount', amount.reason);
    const note = columns.has('note') ? cell('note') : '';
    if ([...note].length > MAX_NOTE_LENGTH) fault('note', `longer than ${MAX_NOTE_LENGTH} characters`);
    if (date.ok && item && subject && amount.ok) {
      entries.push({
        item,
        subject,
        amountCny: amount.value,
        date: date.value,
        note,
        source: 'import',
        sourceKey: `csv:${fileKey}:${line}`,
      });
    }
  }
  if (problems.length > 0) return { ok: false, encoding, problems };
  return { ok: true, entries, encoding };
}

/** A problem as a line for a person: `line 7, 金额: "12,3.4" is not an amount…`. */
export function formatImportProblem(problem: ImportProblem): string {
  return `line ${problem.line}${problem.column === undefined ? '' : `, ${problem.column}`}: ${problem.message}`;
}
