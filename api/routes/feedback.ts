/**
 * Occupant feedback (issue 13): the public page `/feedback/{code}` and `POST /api/v1/feedback`
 * (no token), the QR codes that lead to the page, and the summary operators read.
 *
 * **Abuse.** The public endpoint takes at most {@link DEFAULT_FEEDBACK_LIMITS} answers per client
 * address and per subject in their windows (429 beyond, with when to try again), one answer per
 * browser, subject and site-local day (409; the browser is a random cookie `sfp_fb` the page or
 * the first answer sets, kept only as a SHA-256 hash; a client without the cookie is a new
 * browser each time, which the address limit bounds), a body of at most 4 KiB (413), a comment of
 * at most 500 characters (400). Unknown rooms and services are 404. Comments are stored as text
 * and escaped wherever they are shown. The global rate limit of the API applies as well.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import type { Name } from '../../core/facility/schema.ts';
import { dayOf } from '../../core/management/costs.ts';
import { characters, MAX_COMMENT_LENGTH, normaliseComment } from '../../core/management/feedback.ts';
import { feedbackServices } from '../../core/management/model.ts';
import { escapeHtml } from '../../core/management/report-html.ts';
import { feedbackSummary } from '../../core/management/service.ts';
import { ApiError, badParameter, notFound } from '../errors.ts';
import { FEEDBACK_SCRIPT, feedbackPage, type Lang, unknownPage } from '../feedback-page.ts';
import { type ManagementRouteOptions, managementContext, view } from '../management-view.ts';
import { parsePeriod } from '../period.ts';
import { errorResponses } from '../schemas.ts';
import {
  FeedbackBody,
  FeedbackCreatedSchema,
  FeedbackSummaryQuery,
  FeedbackSummarySchema,
  QrQuery,
} from '../schemas-management.ts';

/** A limit of answers in a sliding window. */
export interface WindowLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface FeedbackLimits {
  readonly perAddress: WindowLimit;
  readonly perSubject: WindowLimit;
}

/**
 * 30 answers per address in 10 minutes (a compound's staff may share one NAT address), 120 per
 * room or service in an hour (a full auditorium answering after a meeting).
 */
export const DEFAULT_FEEDBACK_LIMITS: FeedbackLimits = {
  perAddress: { max: 30, windowMs: 600_000 },
  perSubject: { max: 120, windowMs: 3_600_000 },
};

/** Largest body of `POST /api/v1/feedback`, bytes. */
export const MAX_FEEDBACK_BODY = 4096;
const COOKIE = 'sfp_fb';
const COOKIE_VALUE = /^[A-Za-z0-9_-]{16,64}$/;

/** Sliding-window counters in memory, one per key; keys with no recent hit are dropped. */
export class SlidingWindow {
  readonly #limit: WindowLimit;
  readonly #hits = new Map<string, number[]>();
  constructor(limit: WindowLimit) {
    this.#limit = limit;
  }
  /** Counts a hit at `now` unless the key is at its limit; returns ms to wait, or 0 when counted. */
  take(key: string, now: number): number {
    const since = now - this.#limit.windowMs;
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > since);
    if (hits.length >= this.#limit.max) {
      this.#hits.set(key, hits);
      return (hits[0] as number) + this.#limit.windowMs - now;
    }
    hits.push(now);
    this.#hits.set(key, hits);
    if (this.#hits.size > 10_000) {
      for (const [k, v] of this.#hits) if ((v[v.length - 1] ?? 0) <= since) this.#hits.delete(k);
    }
    return 0;
  }
}

function browserOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    const value = rest.join('=');
    if (name === COOKIE && COOKIE_VALUE.test(value)) return value;
  }
  return undefined;
}

function setBrowser(reply: FastifyReply, value: string): void {
  void reply.header('set-cookie', `${COOKIE}=${value}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax`);
}

/** The QR code of a URL as SVG modules, with a name (two lines) under it. */
export function qrSvg(url: string, name: Name, size = 240): string {
  const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const quiet = 4;
  const cells = n + 2 * quiet;
  let path = '';
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (qr.modules.get(y, x)) path += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    }
  }
  const textHeight = 44;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size + textHeight}" viewBox="0 0 ${size} ${size + textHeight}" role="img" aria-label="${escapeHtml(name.zh)}">` +
    `<title>${escapeHtml(name.zh)} ${escapeHtml(name.en)}</title><rect width="100%" height="100%" fill="#fff"/>` +
    `<svg width="${size}" height="${size}" viewBox="0 0 ${cells} ${cells}" shape-rendering="crispEdges"><path d="${path}" fill="#000"/></svg>` +
    `<text x="${size / 2}" y="${size + 18}" text-anchor="middle" font-size="16" font-family="Noto Sans CJK SC, sans-serif">${escapeHtml(name.zh)}</text>` +
    `<text x="${size / 2}" y="${size + 36}" text-anchor="middle" font-size="11" fill="#555" font-family="sans-serif">${escapeHtml(name.en)}</text>` +
    '</svg>'
  );
}

export interface FeedbackRouteOptions extends ManagementRouteOptions {
  readonly limits?: FeedbackLimits;
}

export const feedbackRoutes: FastifyPluginAsyncTypebox<FeedbackRouteOptions> = async (app, options) => {
  const { facility, state } = options;
  const zone = facility.site.timezone;
  const now = () => (options.kpi.now ?? Date.now)();
  const limits = options.limits ?? DEFAULT_FEEDBACK_LIMITS;
  const perAddress = new SlidingWindow(limits.perAddress);
  const perSubject = new SlidingWindow(limits.perSubject);
  const services = feedbackServices(facility);
  const ctx = managementContext(options);

  /** A room or service by its page code; undefined for an unknown code. */
  function subjectOf(
    code: string,
  ): { kind: 'room' | 'service'; id: string; name: Name; place?: Name } | undefined {
    const room = facility.rooms.find((r) => r.id === code);
    if (room) {
      const building = facility.buildings.find((b) => b.id === room.building);
      return { kind: 'room', id: room.id, name: room.name, ...(building ? { place: building.name } : {}) };
    }
    const service = services.find((s) => s.id === code);
    return service && { kind: 'service', id: service.id, name: service.name };
  }

  const baseUrl = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

  app.get(
    '/feedback/feedback.js',
    { config: { access: 'open' }, schema: { hide: true } },
    async (_request, reply) => {
      void reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600');
      return FEEDBACK_SCRIPT;
    },
  );

  app.get(
    '/feedback/:code',
    {
      config: { access: 'open' },
      schema: {
        hide: true,
        params: Type.Object({ code: Type.String({ maxLength: 200 }) }),
        querystring: Type.Object({ lang: Type.Optional(Type.String({ maxLength: 10 })) }),
      },
    },
    async (request, reply) => {
      const lang: Lang = request.query.lang === 'en' ? 'en' : 'zh';
      const subject = subjectOf(request.params.code);
      void reply.type('text/html; charset=utf-8');
      if (!subject) return reply.status(404).send(unknownPage(lang));
      if (!browserOf(request)) setBrowser(reply, randomBytes(16).toString('base64url'));
      return feedbackPage({ ...subject, lang });
    },
  );

  app.post(
    '/api/v1/feedback',
    {
      config: { access: 'open' },
      bodyLimit: MAX_FEEDBACK_BODY,
      schema: {
        tags: ['feedback'],
        summary: 'An occupant’s answer about a room or service (no token)',
        description:
          'Give `room` or `service` (one of them), a `score` 1–5, any `categories` and a `comment` of at most ' +
          `${MAX_COMMENT_LENGTH} characters. Limits: ${limits.perAddress.max} answers per address in ` +
          `${limits.perAddress.windowMs / 60_000} min and ${limits.perSubject.max} per subject in ` +
          `${limits.perSubject.windowMs / 60_000} min (429); one answer per browser (cookie \`${COOKIE}\`), subject ` +
          `and day (409); a body of at most ${MAX_FEEDBACK_BODY} bytes (413).`,
        security: [],
        body: FeedbackBody,
        response: { 201: FeedbackCreatedSchema, ...errorResponses(400, 404, 409, 413, 429) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if ((body.room === undefined) === (body.service === undefined)) {
        throw badParameter(
          body.room === undefined ? 'room' : 'service',
          'give either room or service, not both and not neither',
        );
      }
      const code = (body.room ?? body.service) as string;
      const subject = subjectOf(code);
      const parameter = body.room !== undefined ? 'room' : 'service';
      if (!subject || subject.kind !== parameter)
        throw notFound(parameter, `no ${parameter} "${code}" takes feedback here`);
      const comment = normaliseComment(body.comment ?? '');
      if (characters(comment) > MAX_COMMENT_LENGTH)
        throw badParameter('comment', `longer than ${MAX_COMMENT_LENGTH} characters`);
      const t = now();
      const wait =
        perAddress.take(`address:${request.ip}`, t) || perSubject.take(`${subject.kind}:${subject.id}`, t);
      if (wait > 0) {
        void reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new ApiError(
          429,
          'RATE_LIMITED',
          `too many answers; try again in ${Math.ceil(wait / 1000)} s 提交过于频繁，请稍后再试`,
        );
      }
      let browser = browserOf(request);
      if (!browser) {
        browser = randomBytes(16).toString('base64url');
        setBrowser(reply, browser);
      }
      const day = dayOf(t, zone);
      const result = await state.addFeedback({
        time: t,
        day,
        subjectKind: subject.kind,
        subject: subject.id,
        score: body.score,
        categories: [...new Set(body.categories ?? [])],
        comment,
        browser: createHash('sha256').update(browser).digest('hex'),
        source: 'api',
      });
      if (!result.stored) {
        throw new ApiError(
          409,
          'ALREADY_ANSWERED',
          `this browser has answered about ${subject.kind} "${subject.id}" today; thank you 今天已评价过，谢谢`,
        );
      }
      void reply.status(201);
      return {
        id: result.id,
        subject: { kind: subject.kind, id: subject.id },
        day,
        message: { zh: '感谢您的评价！', en: 'Thank you for your feedback!' },
      };
    },
  );

  app.get(
    '/api/v1/feedback/qr',
    {
      config: { access: 'site' },
      schema: {
        tags: ['feedback'],
        summary: 'The QR code (SVG) of a room’s or service’s feedback page, with its name under it',
        description: 'Give `room` or `service`. The code holds `{this server}/feedback/{id}`.',
        querystring: QrQuery,
        produces: ['image/svg+xml'],
        response: { 200: { type: 'string' }, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { room, service } = request.query;
      if ((room === undefined) === (service === undefined)) {
        throw badParameter(room === undefined ? 'room' : 'service', 'give either room or service');
      }
      const parameter = room !== undefined ? 'room' : 'service';
      const code = (room ?? service) as string;
      const subject = subjectOf(code);
      if (!subject || subject.kind !== parameter)
        throw notFound(parameter, `no ${parameter} "${code}" in the facility`);
      void reply.type('image/svg+xml; charset=utf-8');
      return qrSvg(`${baseUrl(request)}/feedback/${encodeURIComponent(subject.id)}`, subject.name);
    },
  );

  app.get(
    '/api/v1/feedback/qr/sheet',
    {
      config: { access: 'site' },
      schema: {
        tags: ['feedback'],
        summary: 'A printable A4 sheet of every room’s and service’s QR code',
        produces: ['text/html'],
        response: { 200: { type: 'string' }, ...errorResponses(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const base = baseUrl(request);
      const subjects = [
        ...facility.rooms.map((r) => ({ id: r.id, name: r.name })),
        ...services.map((s) => ({ id: s.id, name: s.name })),
      ];
      const cells = subjects
        .map(
          (s) =>
            `<div class="cell">${qrSvg(`${base}/feedback/${encodeURIComponent(s.id)}`, s.name, 180)}<div class="hint">扫码评价 Scan to rate</div></div>`,
        )
        .join('');
      void reply.type('text/html; charset=utf-8');
      return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${escapeHtml(facility.site.name.zh)} 满意度评价二维码</title>
<style>@page{size:A4;margin:10mm}body{font-family:"Noto Sans CJK SC",sans-serif;margin:0}h1{font-size:16px;margin:0 0 6mm}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:6mm}.cell{border:1px dashed #999;padding:3mm;text-align:center;page-break-inside:avoid}
.hint{font-size:11px;color:#555}</style></head><body><h1>${escapeHtml(facility.site.name.zh)} · 满意度评价二维码 Feedback QR codes</h1><div class="grid">${cells}</div></body></html>`;
    },
  );

  app.get(
    '/api/v1/feedback/summary',
    {
      config: { access: 'site' },
      schema: {
        tags: ['feedback'],
        summary:
          'Feedback per room, building, service or department: count, mean, distribution, top categories',
        description:
          'For comfort complaints (too-hot, too-cold, stuffy) about a room: what its sensor measured at the time ' +
          '(temperature °C, CO2 ppm), each and per category. Comments are text as written: escape them when shown.',
        querystring: FeedbackSummaryQuery,
        response: { 200: FeedbackSummarySchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const period = parsePeriod(request.query, zone);
      const summary = await feedbackSummary(ctx, period, request.query.groupBy ?? 'room');
      return view(
        {
          ...summary,
          items: summary.items.map((g) => ({
            ...g,
            complaints: g.complaints.map((c) => ({
              time: c.time,
              room: c.room,
              score: c.score,
              categories: c.categories,
              temperatureC: c.measured.temperatureC,
              co2Ppm: c.measured.co2Ppm,
              measuredAt: c.measured.at,
            })),
          })),
        },
        zone,
      );
    },
  );
};
