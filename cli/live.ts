/**
 * The live parts of a running platform, shared by `start` and `api`: the alert store and service,
 * the live feed, the webhooks, and — where this process holds the live stream and is told to — the
 * alert engine; and what the api needs of them (sessions, the live page's folder).
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { AlertEngine } from '../alerts/engine.ts';
import { WebhookNotifier } from '../alerts/notifier.ts';
import { AlertService } from '../alerts/service.ts';
import { SessionManager } from '../api/sessions.ts';
import type { AlertStore } from '../core/alerts/store.ts';
import type { RuntimeConfig } from '../core/config.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { TimeSeriesStore } from '../core/store.ts';
import { LiveFeed, type LiveFeedOptions } from '../live/feed.ts';
import type { Lifecycle } from './platform.ts';

/**
 * The live page's build (`dashboards/live/dist`), served at `/` when it is there. Compiled into
 * `dist/cli/` (scripts/build.js), this module names the same folder in the sources.
 */
export const PAGE_DIR: string = fileURLToPath(
  new URL(
    /\/dist\/cli\/live\.js$/.test(import.meta.url)
      ? '../../dashboards/live/dist/'
      : '../dashboards/live/dist/',
    import.meta.url,
  ),
);

export interface LiveParts {
  readonly feed: LiveFeed;
  readonly alerts: AlertService;
  readonly engine: AlertEngine | undefined;
  readonly notifier: WebhookNotifier;
}

/** Starts the alert store, the live feed, the webhooks and (when `engine`) the alert engine, in that order. */
export async function startLiveParts(
  life: Lifecycle,
  options: {
    readonly facility: Facility;
    readonly store: TimeSeriesStore;
    readonly alertStore: AlertStore;
    readonly feed: Omit<LiveFeedOptions, 'facility' | 'store' | 'logger'>;
    readonly engine: boolean;
    readonly logger: Logger;
  },
): Promise<LiveParts> {
  const { facility, store, logger } = options;
  await life.start('alert store', options.alertStore);
  const alerts = new AlertService({
    store: options.alertStore,
    facility,
    logger: logger.child({ module: 'alerts' }),
  });
  const feed = new LiveFeed({ ...options.feed, facility, store, logger: logger.child({ module: 'live' }) });
  await life.start('live feed', feed);
  const notifier = new WebhookNotifier({
    webhooks: facility.alerts.webhooks,
    store: options.alertStore,
    timezone: facility.site.timezone,
    site: facility.site.name.zh,
    logger: logger.child({ module: 'webhooks' }),
  });
  await life.start('webhooks', notifier);
  const unsubscribe = alerts.onChange((alert, event) => notifier.notify(alert, event));
  await life.start('webhook subscription', { start: async () => {}, stop: async () => unsubscribe() });
  let engine: AlertEngine | undefined;
  if (options.engine) {
    engine = new AlertEngine({
      service: alerts,
      feed,
      kpi: { facility, store },
      logger: logger.child({ module: 'alert-engine' }),
    });
    await life.start('alert engine', engine);
  }
  return { feed, alerts, engine, notifier };
}

/** The session manager of the settings: the key from the secrets, the length from `sessionHours`. */
export function sessionManager(config: RuntimeConfig, sessionSecret: string): SessionManager {
  return new SessionManager({
    key: Buffer.from(sessionSecret, 'utf8'),
    ttlMs: config.sessionHours * 3_600_000,
  });
}
