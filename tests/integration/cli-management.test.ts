/**
 * `facility costs import` and `facility report` as a user runs them, child processes on a data
 * folder of the demo facility: a CSV with bad rows imports nothing and names each line; a clean GBK
 * file imports every row (read back through the state); the report is written as .xlsx and .html.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFacilityFile } from '../../cli/read-facility.ts';
import { localDay } from '../../core/management/costs.ts';
import { SHEETS } from '../../core/management/report-xlsx.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { DuckDbManagementState } from '../../storage/duckdb/management-state.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function facility(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/facility.js', ...args],
      { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sfp-cli-management-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('facility costs import', () => {
  it('names every bad row with its line and imports nothing, then imports a clean GBK file', async () => {
    const bad = join(folder, 'bad.csv');
    await writeFile(
      bad,
      '日期,费用项目,对象类型,对象,金额\n2026-11-03,轮胎,车辆,v01,2400\n2026-11-04,轮胎,车辆,v99,abc\n',
    );
    const refused = await facility('costs', 'import', bad, '--data', folder);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${bad}:3  对象: no vehicle "v99" in the facility`);
    expect(refused.stderr).toContain(`${bad}:3  金额: "abc" is not an amount`);
    expect(refused.stderr).toContain('nothing imported');

    const good = join(folder, 'good.csv');
    await writeFile(
      good,
      iconv.encode(
        '日期,费用项目,对象类型,对象,金额（元）,备注\n2026/11/3,轮胎,车辆,川A·3G816,"2,400.00",四条\n2026/11/5,保洁,楼宇,b1,33600,\n',
        'gbk',
      ),
    );
    const imported = await facility('costs', 'import', good, '--data', folder);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('imported 2 rows 行 (gbk), ¥36000.00');
    // The same file again stores nothing again, and says so.
    const again = await facility('costs', 'import', good, '--data', folder);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('imported 0 rows 行 (gbk), ¥0.00');
    expect(again.stdout).toContain('2 rows already imported from this file, not again');

    const loaded = await readFacilityFile(undefined);
    if (!loaded.result.ok) throw new Error('demo');
    const zone = loaded.result.facility.site.timezone;
    const store = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
    await store.start();
    try {
      const state = new DuckDbManagementState({ database: store, dayStart: (d) => localDay(d, zone) });
      await state.start();
      const entries = await state.listCosts({});
      expect(entries.map((e) => [e.date, e.item, e.subject.id, e.amountCny, e.source])).toEqual([
        ['2026-11-03', 'tyres', 'v01', 2400, 'import'],
        ['2026-11-05', 'cleaning', 'b1', 33600, 'import'],
      ]);
      // Both imports are in the trail; the second stored nothing.
      expect((await state.listAudit(5)).map((a) => [a.action, a.target])).toEqual([
        ['cost.import', 'import:good.csv'],
        ['cost.import', 'import:good.csv'],
      ]);
    } finally {
      await store.stop();
    }
  }, 60_000);
});

describe('facility report', () => {
  it('writes the month as .xlsx and .html', async () => {
    const xlsx = join(folder, 'report.xlsx');
    const written = await facility('report', '--month', '2026-11', '--out', xlsx, '--data', folder);
    expect(written.stderr).toBe('');
    expect(written.stdout).toContain(`wrote ${xlsx} (9 departments 部门)`);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load((await readFile(xlsx)) as never);
    expect(book.worksheets.map((s) => s.name)).toEqual(Object.values(SHEETS));
    const html = join(folder, 'report.html');
    expect((await facility('report', '--month', '2026-11', '--out', html, '--data', folder)).code).toBe(0);
    expect(await readFile(html, 'utf8')).toContain('成本效益分析月报 2026年11月');
    const refused = await facility('report', '--month', '2026-13', '--out', html);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('"2026-13" is not a month written YYYY-MM');
  }, 120_000);
});
