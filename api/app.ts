/**
 * The HTTP API (fastify). `buildApp(deps)` returns the app without listening; `main` listens;
 * tests call `app.inject()` (fastify docs/Guides/Testing.md).
 *
 * Versioned under `/api/v1`: health (the only open endpoint), the facility model, energy,
 * vehicle and room figures, the ingest's counters and dead-letter, and token management; the
 * OpenAPI document at `/api/v1/openapi.json` and its interactive page at `/docs` (open too: they
 * describe the API and hold no data); Prometheus text at `/metrics` (a site-wide token).
 *
 * Every other route needs `Authorization: Bearer <token>` (api/tokens.ts); what each role and a
 * department-scoped token may see is in api/access.ts. Security headers (@fastify/helmet) and a
 * rate limit per client address (@fastify/rate-limit) are on by default.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyEtag from '@fastify/etag';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { AlertService } from '../alerts/service.ts';
import type { CorrectionLog } from '../core/corrections.ts';
import type { DeadLetterSink } from '../core/dead-letter.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { IngestWorkersHealth } from '../core/ingest-workers.ts';
import type { KpiData } from '../core/kpi/data.ts';
import type { KpiContext } from '../core/kpi/types.ts';
import { LoginGuard } from '../core/login-guard.ts';
import { localDay } from '../core/management/costs.ts';
import type { AlertReader, ManagementState } from '../core/management/ports.ts';
import type { RollupChange } from '../core/rollup/rolling-store.ts';
import type { TimeSeriesStore } from '../core/store.ts';
import type { LiveFeed } from '../live/feed.ts';
import { DuckDbManagementState } from '../storage/duckdb/management-state.ts';
import { DuckDbStateFile } from '../storage/duckdb/state-file.ts';
import { Authenticator } from './auth.ts';
import { ResponseCache, registerCache } from './cache.ts';
import { ApiError, badParameter, errorHandler, forbidden } from './errors.ts';
import { type KpiServices, kpiServices } from './kpi-services.ts';
import { LiveGateway, type LiveGatewayOptions } from './live-gateway.ts';
import { formatInstant } from './period.ts';
import type { RouteContext } from './reply.ts';
import { alertRoutes } from './routes/alerts.ts';
import { correctionRoutes } from './routes/corrections.ts';
import { costRoutes } from './routes/costs.ts';
import { energyRoutes } from './routes/energy.ts';
import { facilityRoutes } from './routes/facility.ts';
import { type FeedbackLimits, feedbackRoutes } from './routes/feedback.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { roomRoutes } from './routes/rooms.ts';
import { scorecardRoutes } from './routes/scorecard.ts';
import { sessionRoutes } from './routes/session.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { userRoutes } from './routes/users.ts';
import { vehicleRoutes } from './routes/vehicles.ts';
import { errorResponses, HealthSchema } from './schemas.ts';
import { CSRF_HEADER, SESSION_COOKIE, type Session, type SessionManager } from './sessions.ts';
import { FileTokenStore, type Principal, type TokenStore } from './tokens.ts';
import { FileUserStore, type UserStore } from './users.ts';

/**
 * Who may call a route: `open` anyone; `read` any valid caller (department callers get their
 * department's share); `operate` an operator or admin (acknowledging alerts; department operators
 * their department's); `site` any caller without a department; `admin` an admin without a
 * department. A route that says nothing is `site`. A caller is an API token or a signed-in user's
 * session (api/auth.ts).
 */
export type Access = 'open' | 'read' | 'operate' | 'site' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyInstance {
    /** The figures' response cache (api/cache.ts). */
    responseCache: ResponseCache;
    /** The socket.io gateway, when the app serves the live feed. */
    liveGateway?: LiveGateway;
  }
  interface FastifyRequest {
    /** The caller, once the auth hook accepted the bearer token or session; null on open routes. */
    principal: Principal | null;
    /** The session, when the caller came with the session cookie. */
    session: Session | null;
  }
}

/** Requests per client address and window; `false` turns the limit off. */
export interface RateLimitSettings {
  /** Requests per window. Default 600. */
  readonly max: number;
  /** Window, ms. Default one minute. */
  readonly timeWindowMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitSettings = { max: 600, timeWindowMs: 60_000 };

/** What the API reads from the running platform. */
export interface ApiDeps {
  readonly version: string;
  readonly facility: Facility;
  readonly store: TimeSeriesStore;
  /** The dead-letter sink (`list` only): `GET /api/v1/ingest/rejections`. */
  readonly deadLetters: Pick<DeadLetterSink, 'list'>;
  /** Data folder; the tokens live in `{data}/tokens.json`. */
  readonly data: string;
  /** The bootstrap admin token (FACILITY_ADMIN_TOKEN or generated by `facility start`). */
  readonly adminToken: string | undefined;
  /** A token store in place of `{data}/tokens.json` (then `data` and `adminToken` are unused). */
  readonly tokens?: TokenStore;
  /** Where the KPI services get their numbers (core/kpi/data.ts); default the store's rollups. */
  readonly kpiData?: KpiData;
  /** The ingest's counters (see ingest/metrics.ts), or undefined when no ingest runs here. */
  readonly ingestStats?: () => unknown;
  /**
   * The ingest workers of a shared subscription, when the api runs apart from them (`facility
   * api`): shown in the health, which is `degraded` while a worker's share is queuing.
   */
  readonly ingestWorkers?: () => IngestWorkersHealth;
  /** Prometheus text exposition of every registry of this process. */
  readonly metrics?: () => Promise<string>;
  /** The corrections' audit (`/api/v1/corrections`); without it those routes answer 503. */
  readonly corrections?: CorrectionLog;
  /** How long an answer over a period reaching past now is given again, ms (default 5,000; 0: never). */
  readonly liveAnswerTtlMs?: number;
  /**
   * The health of what runs in this process besides the API (the ingest: a store that hangs or
   * fails); `degraded` with the reasons turns `/api/v1/health` degraded. Default: always ok.
   */
  readonly health?: () => { readonly status: 'ok' | 'degraded'; readonly reasons: readonly string[] };
  readonly logger?: Logger;
  /** The clock, epoch ms (uptime, year-end projections). */
  readonly now?: () => number;
  /** Default {@link DEFAULT_RATE_LIMIT}; `false` for none (benchmarks). */
  readonly rateLimit?: RateLimitSettings | false;
  /** The efficiency services; default the real ones of core/kpi. */
  readonly services?: KpiServices;
  /**
   * The management state (cost ledger, audit, feedback), started by the caller; default a DuckDB
   * file of the app's own, `{data}/state.duckdb`, opened when the app is ready and closed with it.
   */
  readonly management?: ManagementState;
  /**
   * The alerts raised, for the scorecard's "acknowledged in time"; default: read from `alerts`
   * when it is given (none: the indicator is null, `no-alert-store`).
   */
  readonly alertHistory?: AlertReader;
  /** Limits of the public feedback endpoint; default DEFAULT_FEEDBACK_LIMITS (api/routes/feedback.ts). */
  readonly feedbackLimits?: FeedbackLimits;
  /**
   * The store's rollup changes (core/rollup/rolling-store.ts `subscribe`): with them, answers over
   * periods are kept and dropped by the writes that change them (api/cache.ts); without, identical
   * requests in flight are still computed once, but nothing is kept.
   */
  readonly changes?: (listener: (changes: readonly RollupChange[]) => void) => () => void;
  /** Signed-in users; default `{data}/users.json`. */
  readonly users?: UserStore;
  /**
   * Browser sessions (api/sessions.ts); without them the password sign-in answers 503 and only
   * tokens are accepted.
   */
  readonly sessions?: SessionManager;
  /** Mark the session cookie Secure (behind an https reverse proxy). Default: when the request is https. */
  readonly secureCookies?: boolean;
  /** Guards the password sign-in like MQTT logins (core/login-guard.ts). Default: one of its own. */
  readonly loginGuard?: LoginGuard;
  /** Alerts: the REST routes and the live feed's `alert` events. Without it the alert routes answer 503. */
  readonly alerts?: AlertService;
  /** The live feed: with it the app serves socket.io at `/socket.io` (api/live-gateway.ts). */
  readonly live?: LiveFeed;
  /** socket.io settings (the Redis adapter of a scaled deployment, the throttle). */
  readonly gateway?: Omit<
    LiveGatewayOptions,
    'server' | 'facility' | 'feed' | 'alerts' | 'authenticator' | 'parseCookie'
  >;
  /** The built live page (`dashboards/live/dist`); served at `/` when it holds an index.html. */
  readonly pageDir?: string;
}

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Build the fastify app; the caller listens (or injects). */
export function buildApp(deps: ApiDeps): FastifyInstance {
  const options = {
    // find-my-way refuses a path parameter over 100 characters with a 414 of its own shape,
    // before any schema runs; the schemas bound each parameter (and Node the whole URL), so the
    // router lets them through and the answer is a 400 naming the parameter.
    routerOptions: { maxParamLength: 16_384 },
    // A path that is not valid percent-encoding is refused before routing; answer it in the
    // error shape too.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      void reply
        .status(400)
        .type('application/json; charset=utf-8')
        .send({ error: { code: 'BAD_URL', message: `the URL is not valid: ${error.message}` } });
    },
  };
  const base: FastifyInstance = deps.logger
    ? (Fastify({ ...options, loggerInstance: deps.logger }) as unknown as FastifyInstance)
    : Fastify({ ...options, logger: false });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const now = deps.now ?? Date.now;
  const started = now();
  const tokens =
    deps.tokens ??
    new FileTokenStore({
      file: join(deps.data, 'tokens.json'),
      ...(deps.adminToken === undefined ? {} : { bootstrapAdminToken: deps.adminToken }),
      now,
    });
  const users = deps.users ?? new FileUserStore({ file: join(deps.data, 'users.json'), now });
  const authenticator = new Authenticator({
    tokens,
    users,
    ...(deps.sessions === undefined ? {} : { sessions: deps.sessions }),
  });
  const context: RouteContext = {
    facility: deps.facility,
    kpi: {
      facility: deps.facility,
      store: deps.store,
      now,
      ...(deps.kpiData === undefined ? {} : { data: deps.kpiData }),
    } satisfies KpiContext,
    services: deps.services ?? kpiServices,
  };

  let management = deps.management;
  if (!management) {
    const file = new DuckDbStateFile({ path: join(deps.data, 'state.duckdb') });
    const own = new DuckDbManagementState({
      database: file,
      now,
      dayStart: (date) => localDay(date, deps.facility.site.timezone),
    });
    management = own;
    app.addHook('onReady', async () => {
      await file.start();
      await own.start();
    });
    app.addHook('onClose', async () => {
      await own.stop();
      await file.stop();
    });
  }
  const alertService = deps.alerts;
  const alertHistory: AlertReader | undefined =
    deps.alertHistory ??
    (alertService
      ? {
          alertsRaised: async (from, to) =>
            (await alertService.list({ from, to, limit: 100_000 }))
              .filter((alert) => alert.firedAt >= from && alert.firedAt < to)
              .map((alert) => ({
                ...(alert.subject.department === null ? {} : { department: alert.subject.department }),
                raisedAt: alert.firedAt,
                acknowledgedAt: alert.acknowledgedAt,
              })),
        }
      : undefined);
  const managementOptions = {
    ...context,
    state: management,
    ...(alertHistory ? { alerts: alertHistory } : {}),
  };

  const cache = new ResponseCache({
    keep: deps.changes !== undefined,
    now,
    ...(deps.liveAnswerTtlMs === undefined ? {} : { liveTtlMs: deps.liveAnswerTtlMs }),
  });
  const unsubscribe = deps.changes?.((changes) => {
    let from = Number.POSITIVE_INFINITY;
    for (const change of changes) from = Math.min(from, change.from);
    cache.invalidate(from);
  });
  if (unsubscribe) app.addHook('onClose', async () => unsubscribe());
  app.decorate('responseCache', cache);

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });
  app.addHook('onReady', async () => {
    await tokens.start();
    await users.start();
  });
  void app.register(fastifyCookie);

  // Documentation: collected from every route registered after it.
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Smart Facility Platform API 智慧机关运行平台',
        version: deps.version,
        description:
          'Energy, vehicle and room efficiency figures of the facility, and its alerts. Every endpoint but ' +
          '`/api/v1/health` and the sign-in needs `Authorization: Bearer <token>`, or the session cookie ' +
          '`sfp_session` of `POST /api/v1/session` (then a state-changing request carries its `csrfToken` in ' +
          '`x-csrf-token`). Roles: admin (everything, tokens, users and alert rules included), operator (reads, ' +
          'acknowledges and comments alerts) and viewer (reads). A caller limited to a department sees only its ' +
          "department's meters, vehicles and rooms and its own department row; site-wide figures " +
          '(groupBy site, building or system; ingest; tokens) answer it 403. `from`/`to` take an ISO-8601 ' +
          "instant with offset or a date (midnight in the site's time zone), and are required; a period is " +
          'at most 732 days (a vehicle track 31). Errors: `{ error: { code, message, parameter? } }`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'API token' },
          sessionCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description:
              'Signed-in user (POST /api/v1/session); state-changing requests also send x-csrf-token',
          },
        },
      },
      security: [{ bearerAuth: [] }, { sessionCookie: [] }],
      tags: [
        'health',
        'session',
        'facility',
        'energy',
        'vehicles',
        'rooms',
        'costs',
        'feedback',
        'scorecard',
        'alerts',
        'ingest',
        'tokens',
        'users',
      ].map((name) => ({
        name,
      })),
    },
  });
  // The platform serves plain HTTP by default (TLS is a reverse proxy's job), so no
  // `upgrade-insecure-requests`: on http://<lan-address>/docs it would send the page's scripts to
  // an https port that is not there.
  const withoutUpgrade = (header: string | number | string[]) =>
    String(header).replace(/\s*upgrade-insecure-requests;?/, '');
  void app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: withoutUpgrade,
  });
  // The live page is the app's own scripts, styles and socket.io connection (same origin); nothing
  // external: no CDN, no remote fonts or tiles. Inline style attributes are allowed (charts set them).
  void app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        workerSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'self'"],
        formAction: ["'self'"],
      },
    },
  });
  if (deps.rateLimit !== false) {
    const limit = deps.rateLimit ?? DEFAULT_RATE_LIMIT;
    void app.register(fastifyRateLimit, {
      global: true,
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          429,
          'RATE_LIMITED',
          `more than ${context.max} requests in ${describeWindow(limit.timeWindowMs)} from this address; ` +
            `try again in ${Math.ceil(context.ttl / 1000)} s`,
        ),
    });
  }

  // Docs and health are open; everything else authenticates here. The hook is `preParsing`, which
  // runs after every `onRequest` hook — the rate limit's among them, so a request with a bad or
  // missing token counts against its address like any other — and before the body is parsed and
  // the parameters validated, so a request without a valid token is a 401 whatever it carries.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, access: 'open' };
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('session', null);
  app.addHook('preParsing', async (request, _reply, payload) => {
    const access: Access = request.routeOptions.config.access ?? 'site';
    if (request.is404 || access === 'open') return payload;
    const caller = await authenticator.authenticate(
      request.headers.authorization,
      request.cookies[SESSION_COOKIE],
    );
    request.principal = caller.principal;
    request.session = caller.session ?? null;
    const principal = caller.principal;
    // The cookie is sent by the browser whatever page asks: a change made with it must show the
    // session's CSRF token, which only the platform's own page can read (api/sessions.ts).
    if (caller.session && !SAFE_METHODS.has(request.method)) {
      const header = request.headers[CSRF_HEADER];
      if (!deps.sessions?.checkCsrf(caller.session, typeof header === 'string' ? header : undefined)) {
        throw forbidden(
          `a change made with the session cookie needs its csrfToken in the ${CSRF_HEADER} header`,
        );
      }
    }
    if (access === 'admin' && principal.role !== 'admin') {
      throw forbidden(`this needs an admin; this caller is ${principal.role}`);
    }
    if (access === 'operate' && principal.role === 'viewer') {
      throw forbidden('this needs an operator or an admin; a viewer reads only');
    }
    if ((access === 'admin' || access === 'site') && principal.department !== undefined) {
      throw forbidden(`this is site-wide; a caller of department "${principal.department}" cannot see it`);
    }
    return payload;
  });

  // ETags over every answer (If-None-Match → 304), then the figures' cache (api/cache.ts), whose
  // preHandler runs after the number check below.
  void app.register(fastifyEtag);

  // Ajv's type coercion turns a query text such as `1e309` into Infinity and then skips every range
  // check (they are guarded by isFinite), so `limit=1e309` would reach the services as Infinity;
  // integers past 2^53 (`before=1e23`) are not exact either. Numbers are checked here, once,
  // after validation, for every route.
  app.addHook('preHandler', async (request) => {
    checkNumbers(request.query, request.raw.url ?? '');
    checkNumbers(request.params, request.raw.url ?? '');
  });

  registerCache(app, cache, now);

  // Registered as a plugin so that @fastify/swagger, loaded before it, sees these routes too.
  void app.register(async (instance) => {
    instance.get(
      '/api/v1/health',
      {
        config: { access: 'open', rateLimit: false },
        schema: {
          tags: ['health'],
          summary: 'Liveness and health, with the ingest workers; the only endpoint without a token',
          description:
            'Always 200 while the api serves. `status` is `degraded`, with `reasons` a person can read, ' +
            'while something needs a person: a store write of the ingest in this process that fails, ' +
            'or has not answered for 3 s; or, run apart from the ingest (`facility api`), an ingest ' +
            'worker whose share of the shared subscription is queuing at the broker (stopped, dead, ' +
            'cut off), also named in `ingest.queuing`.',
          security: [],
          response: { 200: HealthSchema },
        },
      },
      async () => {
        const own = deps.health?.() ?? { status: 'ok' as const, reasons: [] };
        const workers = deps.ingestWorkers?.();
        const reasons = [
          ...own.reasons,
          ...(workers === undefined
            ? []
            : [
                ...(workers.watching
                  ? []
                  : ["not connected to the broker: the ingest workers' state is not current"]),
                ...workers.problems,
              ]),
        ];
        return {
          status: own.status === 'degraded' || reasons.length > 0 ? ('degraded' as const) : ('ok' as const),
          version: deps.version,
          store: deps.store.name,
          uptimeSeconds: Math.round((now() - started) / 1000),
          reasons,
          ...(workers === undefined
            ? {}
            : {
                ingest: {
                  watching: workers.watching,
                  queuing: workers.queuing,
                  workers: workers.workers.map((worker) => ({
                    ...worker,
                    lastSeen:
                      worker.lastSeen === null
                        ? null
                        : formatInstant(worker.lastSeen, deps.facility.site.timezone),
                  })),
                },
              }),
        };
      },
    );
    instance.get('/api/v1/openapi.json', { config: { access: 'open' }, schema: { hide: true } }, async () =>
      app.swagger(),
    );

    const { metrics } = deps;
    instance.get(
      '/metrics',
      {
        config: { access: 'site' },
        schema: {
          tags: ['ingest'],
          summary: 'Prometheus text exposition',
          description:
            'The counters of the parts running in this process (broker, ingest) and of the process itself (nodejs_eventloop_lag_*, heap, CPU, GC). Not for department tokens.',
          produces: ['text/plain'],
          response: { 200: { type: 'string' }, ...errorResponses(401, 403, 429) },
        },
      },
      async (_request, reply) => {
        void reply.type('text/plain; version=0.0.4; charset=utf-8');
        // The parts' counters, then the process's own (event-loop delay, heap, CPU, GC).
        return `${metrics ? await metrics() : ''}${await processMetrics().metrics()}`;
      },
    );
  });
  void app.register(facilityRoutes, context);
  void app.register(energyRoutes, context);
  void app.register(vehicleRoutes, context);
  void app.register(roomRoutes, context);
  void app.register(ingestRoutes, {
    ...context,
    ingestStats: deps.ingestStats,
    deadLetters: deps.deadLetters,
  });
  void app.register(tokenRoutes, { ...context, tokens });
  void app.register(correctionRoutes, {
    ...context,
    store: deps.store,
    corrections: deps.corrections,
    now,
  });
  void app.register(costRoutes, managementOptions);
  void app.register(feedbackRoutes, {
    ...managementOptions,
    ...(deps.feedbackLimits ? { limits: deps.feedbackLimits } : {}),
  });
  void app.register(scorecardRoutes, managementOptions);
  const guard = deps.loginGuard ?? new LoginGuard({ now });
  void app.register(sessionRoutes, {
    ...context,
    users,
    authenticator,
    guard,
    ...(deps.sessions === undefined ? {} : { sessions: deps.sessions }),
    ...(deps.secureCookies === undefined ? {} : { secureCookies: deps.secureCookies }),
  });
  void app.register(userRoutes, { ...context, users });
  void app.register(alertRoutes, {
    ...context,
    ...(deps.alerts === undefined ? {} : { alerts: deps.alerts }),
  });
  registerPage(app, deps.pageDir);

  if (deps.live) {
    const gateway = new LiveGateway({
      ...deps.gateway,
      server: app.server,
      facility: deps.facility,
      feed: deps.live,
      ...(deps.alerts === undefined ? {} : { alerts: deps.alerts }),
      authenticator,
      parseCookie: (header) => app.parseCookie(header),
      ...(deps.logger === undefined ? {} : { logger: deps.logger.child({ module: 'live' }) }),
    });
    app.decorate('liveGateway', gateway);
    app.addHook('onReady', () => gateway.start());
    app.addHook('preClose', () => gateway.stop());
  }

  return app as unknown as FastifyInstance;
}

/**
 * The live page at `/` from its build (`dashboards/live/dist`, made by its own `npm run build`);
 * without a build, `/` says in both languages how to make one.
 */
function registerPage(app: FastifyInstance, pageDir: string | undefined): void {
  if (pageDir !== undefined && existsSync(join(pageDir, 'index.html'))) {
    void app.register(fastifyStatic, {
      root: pageDir,
      prefix: '/',
      wildcard: true,
      index: ['index.html'],
      // Hashed asset names change with every build; the page itself must be looked for again.
      setHeaders: (res, path) => {
        res.setHeader(
          'cache-control',
          path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
        );
      },
    });
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/api/') && route.url !== '/metrics')
        route.config = { ...route.config, access: 'open' };
    });
    return;
  }
  app.get('/', { config: { access: 'open' }, schema: { hide: true } }, async (_request, reply) => {
    void reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
    return NO_PAGE;
  });
}

const NO_PAGE = `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>智慧机关运行平台 Smart Facility Platform</title></head>
<body>
<h1>智慧机关运行平台 · Smart Facility Platform</h1>
<p>实时运行页面尚未构建。请在项目目录运行 <code>npm run build</code>，然后刷新本页。</p>
<p>The live page is not built yet. Run <code>npm run build</code> in the project folder, then reload this page.</p>
<p>API: <a href="/docs/">/docs/</a> · <a href="/api/v1/health">/api/v1/health</a></p>
</body>
</html>
`;

/**
 * A 400 for the first parameter holding a number that is not finite (a text like `1e309`, which
 * coercion turned into Infinity) or an integer beyond 2^53 (`1e23`), where no figure is exact.
 */
function checkNumbers(values: unknown, url: string): void {
  if (values === null || typeof values !== 'object') return;
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== 'number') continue;
    const raw = new URLSearchParams(url.split('?')[1] ?? '').get(name) ?? String(value);
    if (!Number.isFinite(value)) {
      throw badParameter(name, `"${raw}" is beyond the range of numbers; give a finite number`);
    }
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw badParameter(name, `"${raw}" is too large to be exact; give a whole number up to 2^53 − 1`);
    }
  }
}

/** A rate-limit window for a person: `1 minute`, `5 minutes`, `30 s`, `1.5 s`. */
export function describeWindow(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) {
    const minutes = ms / 60_000;
    return minutes === 1 ? '1 minute' : `${minutes} minutes`;
  }
  return `${Number((ms / 1000).toFixed(3))} s`;
}

let processRegistry: Registry | undefined;

/**
 * The process's own metrics (prom-client's defaults: event-loop delay, heap, CPU, GC, handles),
 * collected once per process however many apps it builds.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}
