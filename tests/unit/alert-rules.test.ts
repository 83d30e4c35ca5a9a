/**
 * The `alerts:` section of the facility file and the rules of PUT /api/v1/alert-rules
 * (core/alerts/rules.ts): defaults for the reference facility, rules merged over them by id, every
 * problem named with its path and line, webhooks with their defaults.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  defaultRules,
  RULE_DEFAULTS,
  RULE_TYPE_NAMES,
  resolveAlerts,
  resolveRules,
} from '../../core/alerts/rules.ts';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { formatProblem, loadFacility } from '../../core/facility/load.ts';
import { formatPath } from '../../core/facility/problem.ts';

const DEMO = readFileSync(DEMO_FACILITY_PATH, 'utf8');
const CONTEXT = { buildings: ['b1', 'b2'], geofences: ['compound', 'service-area'] };

function load(alerts: string) {
  return loadFacility(`${DEMO}\n${alerts}`, 'site.yaml');
}

describe('the alerts section', () => {
  it('gives the reference facility one rule of each type with its defaults when the file says nothing', () => {
    const loaded = loadFacility(DEMO, 'demo-facility.yaml');
    if (!loaded.ok) throw new Error('the demo does not load');
    const { rules, webhooks } = loaded.facility.alerts;
    expect(rules.map((r) => r.type)).toEqual(RULE_TYPE_NAMES);
    expect(rules.map((r) => r.id)).toEqual(RULE_TYPE_NAMES);
    expect(webhooks).toEqual([]);
    const co2 = rules.find((r) => r.type === 'room-co2');
    expect(co2).toEqual({ id: 'room-co2', type: 'room-co2', ...RULE_DEFAULTS['room-co2'] });
    // The figures the issue names.
    expect(co2).toMatchObject({ thresholdPpm: 1000 });
    expect(rules.find((r) => r.type === 'room-setpoint')).toMatchObject({
      coolingBelowC: 26,
      heatingAboveC: 20,
    });
    expect(rules.find((r) => r.type === 'device-offline')).toMatchObject({ intervals: 3 });
  });

  it('merges rules over the defaults by id, adds new ones, and starts from none with defaults: false', () => {
    const loaded = load(
      [
        'alerts:',
        '  rules:',
        '    - { id: room-co2, thresholdPpm: 1200, forMinutes: 5 }',
        '    - { id: water-leak, enabled: false }',
        '    - { id: b1-night, type: off-hours-load, buildings: { b1: 150 }, usualMarginPercent: null, severity: critical }',
        '  webhooks:',
        '    - { id: ops, format: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k" }',
        '    - { id: duty, format: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t", secret: SEC1, minSeverity: critical, events: [fired] }',
      ].join('\n'),
    );
    if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
    const { rules, webhooks } = loaded.facility.alerts;
    expect(rules).toHaveLength(RULE_TYPE_NAMES.length + 1);
    expect(rules.find((r) => r.id === 'room-co2')).toMatchObject({
      thresholdPpm: 1200,
      forMinutes: 5,
      hysteresisPpm: 50,
    });
    expect(rules.find((r) => r.id === 'water-leak')).toMatchObject({ enabled: false, minExcessM3h: 0.15 });
    expect(rules.find((r) => r.id === 'b1-night')).toEqual({
      ...RULE_DEFAULTS['off-hours-load'],
      id: 'b1-night',
      type: 'off-hours-load',
      buildings: { b1: 150 },
      usualMarginPercent: null,
      severity: 'critical',
    });
    expect(webhooks).toEqual([
      {
        id: 'ops',
        format: 'wecom',
        url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k',
        minSeverity: 'warning',
        events: ['fired', 'resolved'],
      },
      {
        id: 'duty',
        format: 'dingtalk',
        url: 'https://oapi.dingtalk.com/robot/send?access_token=t',
        secret: 'SEC1',
        minSeverity: 'critical',
        events: ['fired'],
      },
    ]);

    const none = load('alerts:\n  defaults: false\n  rules:\n    - { id: co2, type: room-co2 }');
    if (!none.ok) throw new Error('not loaded');
    expect(none.facility.alerts.rules.map((r) => r.id)).toEqual(['co2']);
  });

  it('names every problem of the section with its path and line, with a suggestion where one fits', () => {
    const loaded = load(
      [
        'alerts:',
        '  rule: []',
        '  rules:',
        '    - { id: room-co2, thresholdPpm: 12 }',
        '    - { id: x1, type: water-leek }',
        '    - { id: x2, type: vehicle-geofence, geofence: servce-area }',
        '    - { id: x3, type: off-hours-load, buildings: { b9: 10 } }',
        '    - { id: room-co2, forMinutes: -1 }',
        '    - { id: room-setpoint, type: room-co2 }',
        '    - { id: x4, type: room-co2, thresholdPpm: "high", colour: red }',
        '    - { type: room-co2 }',
        '  webhooks:',
        '    - { id: w, format: slack, url: "ftp://x" }',
        '    - { id: v, format: json, url: "http://x", secret: s }',
      ].join('\n'),
    );
    if (loaded.ok) throw new Error('it loaded');
    const lines = loaded.problems.map(formatProblem);
    const expected = [
      /:\d+:\d+ {2}alerts\.rule: unknown field \(did you mean "rules"\?\)/,
      /alerts\.rules\[0\]\.thresholdPpm: must be at least 400 and at most 50000, not 12/,
      /alerts\.rules\[1\]\.type: "water-leek" is not one of .* \(did you mean "water-leak"\?\)/,
      /alerts\.rules\[2\]\.geofence: no geofence "servce-area" \(did you mean "service-area"\?\)/,
      /alerts\.rules\[3\]\.buildings\.b9: no building "b9"/,
      /alerts\.rules\[4\]\.id: rule "room-co2" is listed twice/,
      /alerts\.rules\[5\]\.type: rule "room-setpoint" is a room-setpoint rule; give another id for a room-co2 rule/,
      /alerts\.rules\[6\]\.thresholdPpm: must be a number, not "high"/,
      /alerts\.rules\[6\]\.colour: unknown field/,
      /alerts\.rules\[7\]\.id: required field is missing/,
      /alerts\.webhooks\[0\]\.format: "slack" is not one of json, wecom, dingtalk/,
      /alerts\.webhooks\[0\]\.url: "ftp:\/\/x" must be an http:\/\/ or https:\/\/ address/,
      /alerts\.webhooks\[1\]\.secret: only a dingtalk robot signs with a secret/,
    ];
    for (const pattern of expected)
      expect(
        lines.some((line) => pattern.test(line)),
        `${pattern}\n${lines.join('\n')}`,
      ).toBe(true);
    expect(lines).toHaveLength(expected.length);
    // Every line has a line and column of the file.
    for (const line of lines) expect(line).toMatch(/^site\.yaml:\d+:\d+ {2}/);
  });
});

describe('rules as the API replaces them', () => {
  it('takes each rule whole, with the defaults of its type for what it leaves out', () => {
    const { rules, problems } = resolveRules(
      [
        { id: 'co2', type: 'room-co2' },
        { id: 'fast', type: 'vehicle-speeding', limitKmh: 60 },
      ],
      CONTEXT,
      ['rules'],
    );
    expect(problems).toEqual([]);
    expect(rules).toEqual([
      { id: 'co2', type: 'room-co2', ...RULE_DEFAULTS['room-co2'] },
      { id: 'fast', type: 'vehicle-speeding', ...RULE_DEFAULTS['vehicle-speeding'], limitKmh: 60 },
    ]);
  });

  it('refuses what is not a rule, with the path of each problem', () => {
    const { problems } = resolveRules([42, { id: 'a', type: 'room-co2', severity: 'high' }], CONTEXT, [
      'rules',
    ]);
    expect(problems.map((p) => `${formatPath(p.path)}: ${p.message}`)).toEqual([
      'rules[0]: must be a mapping (id: …, type: …)',
      'rules[1].severity: "high" is not one of info, warning, critical',
    ]);
  });

  it('gives every default rule a valid shape of its type', () => {
    const { problems } = resolveRules(defaultRules(), CONTEXT, ['rules']);
    expect(problems).toEqual([]);
  });

  it('refuses a section that is not a mapping', () => {
    const { problems } = resolveAlerts(['x'], CONTEXT);
    expect(problems.map((p) => `${formatPath(p.path)}: ${p.message}`)).toEqual([
      'alerts: must be a mapping (rules: …, webhooks: …)',
    ]);
  });
});
