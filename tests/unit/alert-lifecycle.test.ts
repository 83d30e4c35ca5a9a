/**
 * The life cycle of an alert (core/alerts/lifecycle.ts, core/alerts/alert.ts): hold times and
 * hysteresis over a table of observations, acknowledging and commenting, and how an alert is
 * written for the API and the robots of WeCom and DingTalk (core/alerts/messages.ts).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type Alert,
  AlertStateError,
  acknowledge,
  addComment,
  openKey,
  resolve,
} from '../../core/alerts/alert.ts';
import type { Observation } from '../../core/alerts/evaluate.ts';
import { Tracker } from '../../core/alerts/lifecycle.ts';
import {
  alertJson,
  dingtalkSigned,
  robotAccepted,
  robotText,
  truncateBytes,
  webhookRequest,
} from '../../core/alerts/messages.ts';
import { type AlertRule, RULE_DEFAULTS } from '../../core/alerts/rules.ts';

const MIN = 60_000;
/** 2026-12-07 10:00 in Chengdu. */
const T0 = Date.UTC(2026, 11, 7, 2);
const ZONE = 'Asia/Shanghai';

const RULE: AlertRule = {
  id: 'co2',
  type: 'room-co2',
  ...RULE_DEFAULTS['room-co2'],
  forMinutes: 10,
  clearMinutes: 5,
};
const SUBJECT = {
  kind: 'room',
  id: 'b1-m0301',
  name: '301会议室',
  nameEn: 'Meeting room 301',
  department: null,
} as const;

function observation(level: Observation['level'], value: number, since?: number): Observation {
  return {
    subject: SUBJECT,
    level,
    ...(since === undefined ? {} : { since }),
    value,
    threshold: 1000,
    unit: 'ppm',
    title: { zh: '二氧化碳浓度超标', en: 'CO2 above the limit' },
    detail: { zh: `二氧化碳 ${value} ppm`, en: `CO2 ${value} ppm` },
  };
}

function alertOf(at: number): Alert {
  return {
    id: 'alt_1',
    rule: RULE.id,
    type: RULE.type,
    severity: 'warning',
    state: 'firing',
    subject: SUBJECT,
    firedAt: at,
    acknowledgedAt: null,
    acknowledgedBy: null,
    resolvedAt: null,
    value: 1250,
    threshold: 1000,
    unit: 'ppm',
    title: { zh: '二氧化碳浓度超标', en: 'CO2 above the limit' },
    detail: {
      zh: '301会议室二氧化碳 1250 ppm，限值 1000 ppm',
      en: 'Meeting room 301: CO2 1250 ppm, limit 1000 ppm',
    },
    comments: [],
  };
}

describe('hold times and hysteresis', () => {
  /**
   * One evaluation a minute. The condition holds from minute 1 (no data since): it has held 10
   * minutes at minute 11, and fires then. It falls into the band (hold) at 14 — the alert stays —,
   * is clear at 15, back above at 17 (the clear time starts again), clear from 18: 5 minutes clear
   * at 23, and it resolves there.
   */
  it('fires after forMinutes and resolves after clearMinutes clear, the band keeping it open', () => {
    const levels: Record<number, Observation['level']> = {
      0: 'clear',
      14: 'hold',
      15: 'clear',
      16: 'clear',
      17: 'fire',
    };
    const tracker = new Tracker();
    const open = new Map<string, Alert>();
    const events: string[] = [];
    for (let minute = 0; minute <= 30; minute++) {
      const level = levels[minute] ?? (minute >= 18 ? 'clear' : 'fire');
      const now = T0 + minute * MIN;
      for (const decision of tracker.step(
        RULE,
        [observation(level, level === 'fire' ? 1250 : 900)],
        now,
        open,
      )) {
        events.push(`${decision.action}@${minute}`);
        if (decision.action === 'fire') open.set(openKey(RULE.id, SUBJECT), alertOf(now));
        else open.delete(openKey(RULE.id, SUBJECT));
      }
    }
    expect(events).toEqual(['fire@11', 'resolve@23']);
  });

  it('counts from the data’s `since` when the observation has one: a condition already 10 minutes old fires at once', () => {
    const tracker = new Tracker();
    const decisions = tracker.step(RULE, [observation('fire', 1300, T0 - 10 * MIN)], T0, new Map());
    expect(decisions.map((d) => d.action)).toEqual(['fire']);
    // 9 minutes is not enough.
    expect(new Tracker().step(RULE, [observation('fire', 1300, T0 - 9 * MIN)], T0, new Map())).toEqual([]);
  });

  it('never fires while an alert of the rule and subject is open, and does nothing without an observation', () => {
    const tracker = new Tracker();
    const open = new Map([[openKey(RULE.id, SUBJECT), alertOf(T0)]]);
    expect(tracker.step(RULE, [observation('fire', 1400, T0 - 60 * MIN)], T0 + MIN, open)).toEqual([]);
    expect(tracker.step(RULE, [], T0 + 100 * MIN, open)).toEqual([]);
  });
});

describe('acknowledging and commenting', () => {
  it('records who acknowledged and when, with the comment; a second acknowledgement is refused', () => {
    const alert = alertOf(T0);
    const acked = acknowledge(alert, 'wang', T0 + 5 * MIN, '  已通知物业 opening the windows ');
    expect(acked).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'wang',
      acknowledgedAt: T0 + 5 * MIN,
    });
    expect(acked.comments).toEqual([
      { by: 'wang', at: T0 + 5 * MIN, text: '已通知物业 opening the windows' },
    ]);
    expect(() => acknowledge(acked, 'li', T0 + 6 * MIN)).toThrow(/acknowledged by wang already/);
    const resolved = resolve(acked, T0 + 20 * MIN, 880);
    expect(resolved).toMatchObject({
      state: 'resolved',
      resolvedAt: T0 + 20 * MIN,
      value: 880,
      acknowledgedBy: 'wang',
    });
    expect(() => acknowledge(resolved, 'li', T0 + 21 * MIN)).toThrow(AlertStateError);
    // A resolved alert can still be explained.
    expect(addComment(resolved, 'li', T0 + 22 * MIN, 'fan coil fixed').comments).toHaveLength(2);
    expect(() => addComment(resolved, 'li', T0, '   ')).toThrow(/needs some text/);
  });
});

describe('how an alert is written', () => {
  const alert = acknowledge(alertOf(T0), 'wang', T0 + 5 * MIN, 'windows opened');

  it('as JSON with the site’s offset', () => {
    expect(alertJson(alert, ZONE)).toMatchObject({
      firedAt: '2026-12-07T10:00:00+08:00',
      acknowledgedAt: '2026-12-07T10:05:00+08:00',
      resolvedAt: null,
      comments: [{ by: 'wang', at: '2026-12-07T10:05:00+08:00', text: 'windows opened' }],
    });
  });

  it('as a robot text, Chinese first, within WeCom’s 2,048 bytes', () => {
    const text = robotText(alert, 'acknowledged', ZONE, '示例机关');
    expect(text.split('\n')).toEqual([
      '【已确认 Acknowledged】警告 warning · 二氧化碳浓度超标',
      'CO2 above the limit',
      '对象 Subject: 301会议室 / Meeting room 301',
      '详情: 301会议室二氧化碳 1250 ppm，限值 1000 ppm',
      'Detail: Meeting room 301: CO2 1250 ppm, limit 1000 ppm',
      '发生 Fired: 2026-12-07 10:00:00+08:00',
      '确认 Acknowledged: wang 2026-12-07 10:05:00+08:00',
      '备注 Comment (wang): windows opened',
      '示例机关 · alt_1',
    ]);
    const long = robotText({ ...alert, detail: { zh: '漏'.repeat(2000), en: 'x' } }, 'fired', ZONE, 's');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(2048);
    expect(long.endsWith('…')).toBe(true);
    // Cut on a character, never inside one (each 漏 is 3 bytes).
    expect(truncateBytes('漏漏漏', 7)).toBe('漏…');
  });

  it('signs a DingTalk address: timestamp and Base64(HMAC-SHA256(secret, timestamp \\n secret))', () => {
    const url = dingtalkSigned(
      'https://oapi.dingtalk.com/robot/send?access_token=t',
      'SECabc',
      1_700_000_000_000,
    );
    const sign = createHmac('sha256', 'SECabc').update('1700000000000\nSECabc').digest('base64');
    expect(url).toBe(
      `https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign=${encodeURIComponent(sign)}`,
    );
    const request = webhookRequest(
      {
        id: 'd',
        format: 'dingtalk',
        url: 'https://x/send',
        secret: 'SECabc',
        minSeverity: 'info',
        events: ['fired'],
      },
      alert,
      'fired',
      { timezone: ZONE, site: 's', now: 1_700_000_000_000 },
    );
    expect(request.url).toContain('?timestamp=1700000000000&sign=');
    expect(request.body).toMatchObject({
      msgtype: 'text',
      text: { content: expect.stringContaining('【告警 Alert】') },
    });
  });

  it('reads a robot’s answer: errcode 0 is taken, anything else is not', () => {
    expect(robotAccepted('wecom', { errcode: 0, errmsg: 'ok' })).toEqual({ ok: true });
    expect(robotAccepted('dingtalk', { errcode: 130101, errmsg: 'send too fast' })).toEqual({
      ok: false,
      error: 'the robot answered errcode 130101: send too fast',
    });
    expect(robotAccepted('json', null)).toEqual({ ok: true });
  });
});
