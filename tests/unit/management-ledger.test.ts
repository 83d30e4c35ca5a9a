/**
 * The ledger's CSV import (core/management/ledger.ts), the management checks of the facility file,
 * and the demo's simulated ledger and feedback (simulators/management.ts).
 */
import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { DEMO_FACILITY_PATH, loadFacility } from '../../core/facility/index.ts';
import { decodeCsv, parseCostCsv } from '../../core/management/ledger.ts';
import { simulatedFeedback, simulatedLedger } from '../../simulators/management.ts';
import { createSimulation } from '../../simulators/simulation.ts';

const DEMO_TEXT = readFileSync(DEMO_FACILITY_PATH, 'utf8');
const demo = loadFacility(DEMO_TEXT, 'demo-facility.yaml');
if (!demo.ok) throw new Error('the demo facility does not load');
const facility = demo.facility;

describe('CSV import', () => {
  it('reads GBK with Chinese headers, plates, names, Chinese dates and amounts with separators', () => {
    const bytes = iconv.encode(
      '费用项目,日期,对象类型,对象,金额（元）,备注\n维修,2026年11月3日,车辆,川A 3G816,"￥1,280.50",刹车片\n保洁,2026/11/5,楼宇,1号综合办公楼,33600,\n',
      'gbk',
    );
    expect(decodeCsv(bytes).encoding).toBe('gbk');
    const result = parseCostCsv(bytes, facility, '2026-11-30');
    expect(result).toEqual({
      ok: true,
      encoding: 'gbk',
      entries: [
        {
          item: 'repair',
          subject: { kind: 'vehicle', id: 'v01' },
          amountCny: 1280.5,
          date: '2026-11-03',
          note: '刹车片',
          source: 'import',
          sourceKey: expect.stringMatching(/^csv:[0-9a-f]{32}:2$/),
        },
        {
          item: 'cleaning',
          subject: { kind: 'building', id: 'b1' },
          amountCny: 33600,
          date: '2026-11-05',
          note: '',
          source: 'import',
          sourceKey: expect.stringMatching(/^csv:[0-9a-f]{32}:3$/),
        },
      ],
    });
    // The same text in UTF-8 with CRLF is the same file: the same keys, so it is not imported twice.
    const utf8 = parseCostCsv(
      Buffer.from(iconv.decode(bytes, 'gbk').replace(/\n/g, '\r\n'), 'utf8'),
      facility,
      '2026-11-30',
    );
    expect(utf8.ok && utf8.entries.map((e) => e.sourceKey)).toEqual(
      result.ok && result.entries.map((e) => e.sourceKey),
    );
  });

  it('reads UTF-8 with a BOM and English headers', () => {
    const result = parseCostCsv(
      Buffer.from(
        '\uFEFFdate,item,subjectKind,subject,amountCny\n2026-11-03,tyres,vehicle,v02,2400\n',
        'utf8',
      ),
      facility,
      '2026-11-30',
    );
    expect(result.ok && result.encoding).toBe('utf-8');
    expect(result.ok && result.entries[0]?.amountCny).toBe(2400);
  });

  it('reports every bad row with its line and column, and imports nothing', () => {
    const text =
      '日期,费用项目,对象类型,对象,金额\n' +
      '2026-11-03,轮胎,车辆,v01,2400\n' + // line 2: fine
      '2026-12-03,轮胎,车辆,v01,2400\n' + // line 3: after today
      '2026-11-04,洗车,车辆,v01,80\n' + // line 4: no such item
      '2026-11-04,保洁,飞机,x,80\n' + // line 5: no such kind
      '2026-11-04,保洁,楼宇,b9,1.234\n'; // line 6: no such building, three decimals
    const result = parseCostCsv(Buffer.from(text), facility, '2026-11-30');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => [p.line, p.column])).toEqual([
      [3, '日期'],
      [4, '费用项目'],
      [5, '对象类型'],
      [6, '对象'],
      [6, '金额'],
    ]);
  });

  it('refuses an unknown column and a missing one, naming them', () => {
    const result = parseCostCsv(
      Buffer.from('日期,项目名称,对象类型,对象\n2026-11-03,轮胎,车辆,v01\n'),
      facility,
      '2026-11-30',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.message).join('\n')).toMatch(
      /unknown column "项目名称"[\s\S]*no item column[\s\S]*no amount column/,
    );
  });
});

describe('the facility file’s management sections', () => {
  it('reports a year budgeted twice and a service id that is a room’s, with their paths', () => {
    const text = DEMO_TEXT.replace(
      'budgets: [{ year: 2026, electricity: 312000',
      'budgets: [{ year: 2026, electricity: 1 }, { year: 2026, electricity: 312000',
    ).replace('- { id: canteen,          name:', '- { id: b1-m0301,          name:');
    const result = loadFacility(text, 'site.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'departments[1].budgets[1].year: year 2026 is already budgeted at budgets[0]; give one entry per year',
      'feedback.services[0].id: "b1-m0301" is a room id; a service needs an id of its own (its page is /feedback/b1-m0301)',
    ]);
  });
});

describe('the demo’s simulated ledger and feedback', () => {
  const simulation = createSimulation(facility, { seed: 7 });
  // A cold week (2026-01-12 .. 01-17, Chengdu) where rooms are heated and sometimes cold.
  const from = Date.parse('2026-01-12T00:00:00+08:00');
  const to = Date.parse('2026-01-17T00:00:00+08:00');

  it('is the same for the same seed, and keyed so that nothing is stored twice', () => {
    const a = simulatedFeedback(facility, simulation, 7, from, to);
    const b = simulatedFeedback(facility, createSimulation(facility, { seed: 7 }), 7, from, to);
    expect(a).toEqual(b);
    expect(new Set(a.map((x) => `${x.browser}|${x.subject}|${x.day}`)).size).toBe(a.length);
    const ledger = simulatedLedger(facility, 7, to);
    expect(ledger).toEqual(simulatedLedger(facility, 7, to));
    expect(new Set(ledger.map((e) => e.sourceKey)).size).toBe(ledger.length);
    expect(ledger.every((e) => e.date < '2026-01-17')).toBe(true);
  });

  it('scores lower when the room was too cold or stuffy', () => {
    const answers = simulatedFeedback(facility, simulation, 7, from, to).filter(
      (a) => a.subjectKind === 'room',
    );
    const mean = (list: typeof answers) => list.reduce((s, a) => s + a.score, 0) / list.length;
    const comfort = answers.filter(
      (a) => a.categories.includes('too-cold') || a.categories.includes('stuffy'),
    );
    const fine = answers.filter((a) => a.categories.length === 0);
    expect(comfort.length).toBeGreaterThan(0);
    expect(mean(comfort)).toBeLessThan(mean(fine) - 1);
  });
});
