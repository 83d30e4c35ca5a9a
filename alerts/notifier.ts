/**
 * Webhooks: every alert change a webhook asks for (its `events`, at its `minSeverity` or above) is
 * POSTed as JSON — the alert itself, or the text message of a WeCom or DingTalk group robot
 * (core/alerts/messages.ts) — and tried again with exponential back-off (p-retry) when the
 * receiver fails: a connection error, a timeout, a non-2xx answer, or a robot's `errcode` other
 * than 0 (its rate limit among them). Every delivery, delivered or given up, is logged in the
 * alert store with its attempts, last status and error.
 *
 * Deliveries run a few at a time (p-queue) and never hold up the engine; `stop()` waits for those
 * under way a little, then abandons them (their log says so).
 */

import PQueue from 'p-queue';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import type { Alert } from '../core/alerts/alert.ts';
import { robotAccepted, webhookRequest } from '../core/alerts/messages.ts';
import { type AlertEvent, severityRank, type Webhook } from '../core/alerts/rules.ts';
import type { AlertStore } from '../core/alerts/store.ts';

export interface NotifierOptions {
  readonly webhooks: readonly Webhook[];
  readonly store: AlertStore;
  readonly timezone: string;
  /** The site's name, at the foot of robot messages. */
  readonly site: string;
  /** Attempts per delivery. Default 5. */
  readonly attempts?: number;
  /** First wait between attempts, ms (then doubling). Default 1 s. */
  readonly minDelayMs?: number;
  /** Longest wait between attempts, ms. Default 30 s. */
  readonly maxDelayMs?: number;
  /** How long one attempt may take, ms. Default 5 s. */
  readonly timeoutMs?: number;
  /** Deliveries at once. Default 4. */
  readonly concurrency?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

class DeliveryError extends Error {
  readonly status: number | null;
  constructor(message: string, status: number | null) {
    super(message);
    this.name = 'DeliveryError';
    this.status = status;
  }
}

export class WebhookNotifier {
  readonly #options: NotifierOptions;
  readonly #queue: PQueue;
  readonly #now: () => number;
  readonly #abort = new AbortController();

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#queue = new PQueue({ concurrency: options.concurrency ?? 4 });
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {}

  /** Waits up to `graceMs` for deliveries under way, then abandons the rest. */
  async stop(graceMs = 3000): Promise<void> {
    const idle = this.#queue.onIdle();
    const timer = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([idle, timer]);
    this.#abort.abort();
    this.#queue.clear();
  }

  /** Resolves once every delivery queued so far is done (for tests). */
  settled(): Promise<void> {
    return this.#queue.onIdle();
  }

  /** Queues the deliveries an alert change calls for. */
  notify(alert: Alert, event: AlertEvent): void {
    for (const hook of this.#options.webhooks) {
      if (!hook.events.includes(event)) continue;
      if (severityRank(alert.severity) < severityRank(hook.minSeverity)) continue;
      void this.#queue.add(() => this.#deliver(hook, alert, event)).catch(() => undefined);
    }
  }

  async #deliver(hook: Webhook, alert: Alert, event: AlertEvent): Promise<void> {
    const { attempts = 5, minDelayMs = 1000, maxDelayMs = 30_000, timeoutMs = 5000, logger } = this.#options;
    let tried = 0;
    let status: number | null = null;
    let error: string | null = null;
    let ok = false;
    try {
      await pRetry(
        async () => {
          tried++;
          const { url, body } = webhookRequest(hook, alert, event, {
            timezone: this.#options.timezone,
            site: this.#options.site,
            now: this.#now(),
          });
          let response: Response;
          try {
            response = await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json; charset=utf-8' },
              body: JSON.stringify(body),
              signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#abort.signal]),
            });
          } catch (cause) {
            if (this.#abort.signal.aborted) throw new AbortError('stopping: the delivery was abandoned');
            throw new DeliveryError(describe(cause), null);
          }
          status = response.status;
          const text = await response.text().catch(() => '');
          if (!response.ok)
            throw new DeliveryError(`HTTP ${response.status} ${text.slice(0, 200)}`.trim(), response.status);
          let parsed: unknown = null;
          if (hook.format !== 'json') {
            try {
              parsed = JSON.parse(text);
            } catch {
              throw new DeliveryError(
                `the robot's answer is not JSON: ${text.slice(0, 200)}`,
                response.status,
              );
            }
          }
          const accepted = robotAccepted(hook.format, parsed);
          if (!accepted.ok) throw new DeliveryError(accepted.error ?? 'refused', response.status);
        },
        {
          retries: attempts - 1,
          minTimeout: minDelayMs,
          maxTimeout: maxDelayMs,
          factor: 2,
          randomize: false,
          signal: this.#abort.signal,
          onFailedAttempt: ({ error: failure, attemptNumber, retriesLeft }) => {
            error = failure.message;
            logger?.warn(
              {
                webhook: hook.id,
                alert: alert.id,
                event,
                attempt: attemptNumber,
                retriesLeft,
                err: failure.message,
              },
              'webhook delivery failed; trying again',
            );
          },
        },
      );
      ok = true;
      error = null;
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
      logger?.error(
        { webhook: hook.id, alert: alert.id, event, attempts: tried, err: error },
        'webhook delivery given up',
      );
    }
    await this.#options.store
      .addDelivery({
        alert: alert.id,
        webhook: hook.id,
        event,
        at: this.#now(),
        attempts: tried,
        ok,
        status,
        error,
      })
      .catch((failure: unknown) => logger?.warn({ err: failure }, 'logging a webhook delivery failed'));
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (error.name === 'TimeoutError') return 'timed out';
    return cause?.code ? `${error.message} (${cause.code})` : error.message;
  }
  return String(error);
}
