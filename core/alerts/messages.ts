/**
 * How an alert is written for those outside the engine: the JSON of the API and the live feed
 * (ISO-8601 times with the site's offset), and the webhook bodies — generic JSON, and the text
 * message of a WeCom (企业微信) or DingTalk (钉钉) group robot, in Chinese then English. Pure.
 *
 * Robot formats: WeCom `{"msgtype":"text","text":{"content":…}}` (content at most 2,048 bytes,
 * developer.work.weixin.qq.com/document/path/91770); DingTalk the same shape (its custom robot's
 * "text" type), signed when the robot has a secret: `timestamp` (epoch ms) and `sign` =
 * Base64(HMAC-SHA256(secret, timestamp + "\n" + secret)) added to the address
 * (open.dingtalk.com, 自定义机器人安全设置 — 加签).
 */
import { createHmac } from 'node:crypto';
import { isoAt } from '../kpi/common.ts';
import type { Alert, AlertState, SubjectKind } from './alert.ts';
import type { AlertEvent, RuleType, Severity, Webhook } from './rules.ts';

/** An alert as the API, the live feed and the JSON webhook write it (a wire shape: mutable for fastify's types). */
export interface AlertJson {
  id: string;
  rule: string;
  type: RuleType;
  severity: Severity;
  state: AlertState;
  subject: {
    kind: SubjectKind;
    id: string;
    name: string;
    nameEn: string;
    department: string | null;
  };
  firedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  value: number | null;
  threshold: number | null;
  unit: string | null;
  title: { zh: string; en: string };
  detail: { zh: string; en: string };
  comments: { by: string; at: string; text: string }[];
}

const round = (value: number | null) =>
  value === null || !Number.isFinite(value) ? null : Math.round(value * 1000) / 1000;

export function alertJson(alert: Alert, timezone: string): AlertJson {
  const at = (t: number | null) => (t === null ? null : isoAt(t, timezone));
  return {
    id: alert.id,
    rule: alert.rule,
    type: alert.type,
    severity: alert.severity,
    state: alert.state,
    subject: { ...alert.subject },
    firedAt: isoAt(alert.firedAt, timezone),
    acknowledgedAt: at(alert.acknowledgedAt),
    acknowledgedBy: alert.acknowledgedBy,
    resolvedAt: at(alert.resolvedAt),
    value: round(alert.value),
    threshold: round(alert.threshold),
    unit: alert.unit,
    title: alert.title,
    detail: alert.detail,
    comments: alert.comments.map((c) => ({ by: c.by, at: isoAt(c.at, timezone), text: c.text })),
  };
}

const SEVERITY_TEXT: Readonly<Record<string, { zh: string; en: string }>> = {
  info: { zh: '提示', en: 'info' },
  warning: { zh: '警告', en: 'warning' },
  critical: { zh: '严重', en: 'critical' },
};

const EVENT_TEXT: Readonly<Record<AlertEvent, { zh: string; en: string }>> = {
  fired: { zh: '告警', en: 'Alert' },
  acknowledged: { zh: '已确认', en: 'Acknowledged' },
  commented: { zh: '备注', en: 'Comment' },
  resolved: { zh: '已恢复', en: 'Resolved' },
};

/** WeCom's limit on a text message, bytes. */
export const ROBOT_TEXT_MAX_BYTES = 2048;

/** The robot text of an alert change: Chinese first, then English. */
export function robotText(alert: Alert, event: AlertEvent, timezone: string, site: string): string {
  const severity = SEVERITY_TEXT[alert.severity] ?? { zh: alert.severity, en: alert.severity };
  const e = EVENT_TEXT[event];
  const time = (t: number) => isoAt(t, timezone).replace('T', ' ');
  const lines = [
    `【${e.zh} ${e.en}】${severity.zh} ${severity.en} · ${alert.title.zh}`,
    alert.title.en,
    `对象 Subject: ${alert.subject.name}${alert.subject.nameEn !== alert.subject.name ? ` / ${alert.subject.nameEn}` : ''}`,
    `详情: ${alert.detail.zh}`,
    `Detail: ${alert.detail.en}`,
    `发生 Fired: ${time(alert.firedAt)}`,
  ];
  if (event === 'acknowledged' && alert.acknowledgedAt !== null) {
    lines.push(`确认 Acknowledged: ${alert.acknowledgedBy ?? ''} ${time(alert.acknowledgedAt)}`);
  }
  if (event === 'resolved' && alert.resolvedAt !== null)
    lines.push(`恢复 Resolved: ${time(alert.resolvedAt)}`);
  const comment = alert.comments.at(-1);
  if ((event === 'commented' || event === 'acknowledged') && comment)
    lines.push(`备注 Comment (${comment.by}): ${comment.text}`);
  lines.push(`${site} · ${alert.id}`);
  return truncateBytes(lines.join('\n'), ROBOT_TEXT_MAX_BYTES);
}

/** `text` cut to at most `max` UTF-8 bytes, on a character boundary, with an ellipsis when cut. */
export function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > max - 3) break;
    out += char;
    bytes += size;
  }
  return `${out}…`;
}

/** The request a webhook gets for an alert change: where to POST and the JSON body. */
export function webhookRequest(
  hook: Webhook,
  alert: Alert,
  event: AlertEvent,
  context: { readonly timezone: string; readonly site: string; readonly now: number },
): { url: string; body: unknown } {
  if (hook.format === 'json') {
    return { url: hook.url, body: { event, site: context.site, alert: alertJson(alert, context.timezone) } };
  }
  const body = {
    msgtype: 'text',
    text: { content: robotText(alert, event, context.timezone, context.site) },
  };
  if (hook.format === 'dingtalk' && hook.secret !== undefined) {
    return { url: dingtalkSigned(hook.url, hook.secret, context.now), body };
  }
  return { url: hook.url, body };
}

/** A DingTalk robot address with its signature (加签) for `timestamp`. */
export function dingtalkSigned(url: string, secret: string, timestamp: number): string {
  const sign = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}timestamp=${timestamp}&sign=${encodeURIComponent(sign)}`;
}

/** Whether a robot's answer says it took the message (`errcode` 0); JSON webhooks: any 2xx. */
export function robotAccepted(format: Webhook['format'], body: unknown): { ok: boolean; error?: string } {
  if (format === 'json') return { ok: true };
  const answer = body as { errcode?: unknown; errmsg?: unknown } | null;
  if (answer && answer.errcode === 0) return { ok: true };
  return {
    ok: false,
    error: `the robot answered errcode ${JSON.stringify(answer?.errcode ?? null)}: ${String(answer?.errmsg ?? 'no errmsg')}`,
  };
}
