/**
 * The live feed over socket.io, at `/socket.io` on the api's own port.
 *
 * **Who.** The handshake carries an API token (`auth.token`) or the browser sends the session
 * cookie (then the `Origin`, when sent, must be this host: a page of another site cannot ride on the
 * cookie). Refusals are a `connect_error` whose message says why. A session's socket is closed when
 * the session expires.
 *
 * **Rooms.** A client `subscribe`s to rooms and gets, in its acknowledgement, those accepted and
 * those refused with the reason; right after, the latest state of every subject in the accepted
 * rooms, so a page shows values at once. Rooms: `site`, `building:<id>`, `department:<id>`,
 * `vehicle:<id>`, `room:<id>`, `vehicles`, `rooms`, `alerts`, `ingest`. A caller limited to a
 * department gets its department's `department:`, `vehicle:` and `room:` rooms, and `vehicles`,
 * `rooms` and `alerts` cut to it; `site`, `building:` and `ingest` are site-wide (their totals include
 * other departments), as in the REST API.
 *
 * **Events.** `site` and `building` go to `site` (and a building's to its `building:` room); `meter`
 * to its building's and department's rooms; `vehicle` to `vehicle:<id>`, `vehicles` and its
 * department; `room` to `room:<id>`, `rooms`, its building and department; `alert` to `alerts`;
 * `ingest` to `ingest`.
 *
 * **Meter batches.** A client whose `subscribe` says `batch: true` gets meters as `meters` events
 * instead: arrays of `meter` events, one frame for the meters of a building (and department) that
 * go out together (a committed batch of readings, or the end of their throttle waits). A thousand
 * meters reading once a second are then tens of frames a second per client, not a thousand, and
 * that — writes to the sockets — is what the fan-out costs. Each meter still appears at most once
 * per throttle window, a lone reading still at once. The form is the socket's (its latest
 * `subscribe` saying `batch`); without it, one `meter` event per meter, as before.
 *
 * **Throttle.** At most one event per subject every `throttleMs` (250: four a second), leading
 * edge: the first change after a quiet spell goes out at once, changes during the wait are
 * coalesced and the latest state goes out when it ends (within {@link COALESCE_MS} after it, so
 * that subjects whose waits end together go out together). Events are built from the state when
 * sent.
 *
 * **Several api processes.** Each process serves its own clients the live state it holds
 * (`io.local`); alert changes, which happen in one process, go to every process's clients through
 * the adapter (the socket.io Redis adapter when configured).
 */
import type { Server as HttpServer, IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import type { AlertService } from '../alerts/service.ts';
import type { Alert } from '../core/alerts/alert.ts';
import { alertJson } from '../core/alerts/messages.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { MeterEvent } from '../core/live/state.ts';
import type { LiveFeed, LiveUpdate } from '../live/feed.ts';
import type { Authenticator } from './auth.ts';
import { ApiError } from './errors.ts';
import { SESSION_COOKIE } from './sessions.ts';
import type { Principal } from './tokens.ts';

/** Default least time between two events of one subject, ms: four a second. */
export const DEFAULT_THROTTLE_MS = 250;
/** Most rooms one `subscribe` may name. */
const MAX_ROOMS = 1000;
/** A wait that ended is sent up to this much later, with the others ending by then, ms. */
export const COALESCE_MS = 10;
/**
 * Internal rooms of the form a socket gets meters in: every socket is in exactly one. Not names a
 * client can subscribe to (#grant knows none with `~`).
 */
const SINGLE = '~meter';
const BATCH = '~meters';

export interface LiveGatewayOptions {
  readonly server: HttpServer;
  readonly facility: Facility;
  readonly feed: LiveFeed;
  readonly alerts?: AlertService;
  readonly authenticator: Authenticator;
  readonly parseCookie: (header: string) => Record<string, string | undefined>;
  /** socket.io's adapter factory (the Redis adapter of a scaled deployment); default in memory. */
  readonly adapter?: NonNullable<ConstructorParameters<typeof Server>[1]>['adapter'];
  readonly throttleMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

interface Pending {
  /** When it was last sent. */
  last: number;
  /** For alerts, the latest alert to send. */
  alert?: Alert;
}

/** What a subscribe asks for, as internal socket.io rooms. */
type RoomGrant = { readonly rooms: readonly string[] } | { readonly refused: string };

export class LiveGateway {
  readonly #options: LiveGatewayOptions;
  readonly #facility: Facility;
  readonly #throttleMs: number;
  readonly #now: () => number;
  readonly #pending = new Map<string, Pending>();
  /** Subjects that changed during their wait; one timer sends them when it ends. */
  readonly #waiting = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  readonly #unsubscribe: Array<() => void> = [];
  #io: Server | undefined;

  constructor(options: LiveGatewayOptions) {
    this.#options = options;
    this.#facility = options.facility;
    this.#throttleMs = options.throttleMs ?? DEFAULT_THROTTLE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The socket.io server, once started. */
  get io(): Server | undefined {
    return this.#io;
  }

  async start(): Promise<void> {
    if (this.#io) return;
    const io = new Server(this.#options.server, {
      path: '/socket.io',
      serveClient: false,
      maxHttpBufferSize: 64 * 1024,
      ...(this.#options.adapter === undefined ? {} : { adapter: this.#options.adapter }),
    });
    this.#io = io;
    io.use((socket, next) => {
      this.#authenticate(socket).then(
        () => next(),
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          const refusal = new Error(message) as Error & { data?: unknown };
          refusal.data = { code: error instanceof ApiError ? error.code : 'UNAUTHORIZED' };
          next(refusal);
        },
      );
    });
    io.on('connection', (socket) => this.#connected(socket));
    this.#unsubscribe.push(this.#options.feed.onUpdate((updates) => this.#updates(updates)));
    if (this.#options.alerts) {
      this.#unsubscribe.push(
        this.#options.alerts.onChange((alert) => {
          const ready: string[] = [];
          this.#take(`alert:${alert.id}`, Date.now(), ready, alert);
          this.#sendAll(ready);
        }),
      );
    }
  }

  async stop(): Promise<void> {
    for (const stop of this.#unsubscribe.splice(0)) stop();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#waiting.clear();
    this.#pending.clear();
    const io = this.#io;
    this.#io = undefined;
    if (!io) return;
    io.local.disconnectSockets(true);
    io.engine.close();
    await new Promise<void>((resolve) => {
      // Closes the adapter (and its Redis subscriptions); the HTTP server is fastify's to close.
      const closing = io.of('/').adapter.close?.();
      void Promise.resolve(closing).then(
        () => resolve(),
        () => resolve(),
      );
    });
  }

  // ------------------------------------------------------------------------------- connections

  async #authenticate(socket: Socket): Promise<void> {
    const { authenticator, parseCookie } = this.#options;
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token === 'string' && token !== '') {
      socket.data.principal = authenticator.token(token, true);
      return;
    }
    const cookie = parseCookie(socket.handshake.headers.cookie ?? '')[SESSION_COOKIE];
    if (cookie === undefined || cookie === '') {
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        'sign in, or give an API token in auth.token 请先登录或提供令牌',
      );
    }
    if (!sameOrigin(socket.handshake.headers)) {
      throw new ApiError(
        403,
        'FORBIDDEN',
        'the session cookie works only from the platform’s own page 会话仅限本站页面使用',
      );
    }
    const caller = await authenticator.session(cookie);
    if (!caller?.session)
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        'the session has expired or was signed out; sign in again 会话已过期，请重新登录',
      );
    socket.data.principal = caller.principal;
    socket.data.expiresAt = caller.session.expiresAt;
  }

  #connected(socket: Socket): void {
    const principal = socket.data.principal as Principal;
    const expiresAt = socket.data.expiresAt as number | undefined;
    if (expiresAt !== undefined) {
      const timer = setTimeout(() => socket.disconnect(true), Math.max(0, expiresAt - this.#now()));
      timer.unref();
      socket.on('disconnect', () => clearTimeout(timer));
    }
    void socket.join(SINGLE);
    socket.on('subscribe', (payload: unknown, ack?: unknown) => {
      const batch = (payload as { batch?: unknown } | null)?.batch;
      if (typeof batch === 'boolean') {
        void socket.leave(batch ? SINGLE : BATCH);
        void socket.join(batch ? BATCH : SINGLE);
      }
      const answer = this.#subscribe(socket, principal, payload, true);
      if (typeof ack === 'function') ack(answer);
      void this.#snapshot(socket, principal, answer.rooms).catch((error: unknown) =>
        this.#options.logger?.warn({ err: error }, 'live: sending the latest state failed'),
      );
    });
    socket.on('unsubscribe', (payload: unknown, ack?: unknown) => {
      const answer = this.#subscribe(socket, principal, payload, false);
      if (typeof ack === 'function') ack(answer);
    });
  }

  #subscribe(
    socket: Socket,
    principal: Principal,
    payload: unknown,
    join: boolean,
  ): { rooms: string[]; refused: { room: string; reason: string }[] } {
    const rooms = (payload as { rooms?: unknown } | null)?.rooms;
    if (!Array.isArray(rooms)) {
      return {
        rooms: [],
        refused: [{ room: '', reason: 'send { rooms: [names] }, e.g. { rooms: ["site", "alerts"] }' }],
      };
    }
    const accepted: string[] = [];
    const refused: { room: string; reason: string }[] = [];
    for (const [index, room] of rooms.entries()) {
      if (index >= MAX_ROOMS) {
        refused.push({ room: String(room).slice(0, 100), reason: `at most ${MAX_ROOMS} rooms at once` });
        continue;
      }
      if (typeof room !== 'string' || room.length > 200) {
        refused.push({
          room: String(room).slice(0, 100),
          reason: 'a room is a name such as "site" or "building:b1"',
        });
        continue;
      }
      const grant = this.#grant(room, principal);
      if ('refused' in grant) {
        refused.push({ room, reason: grant.refused });
        continue;
      }
      for (const internal of grant.rooms) {
        if (join) void socket.join(internal);
        else void socket.leave(internal);
      }
      accepted.push(room);
    }
    return { rooms: accepted, refused };
  }

  /** The internal rooms a room name stands for, for this caller. */
  #grant(room: string, principal: Principal): RoomGrant {
    const department = principal.department;
    const facility = this.#facility;
    const siteWide = (name: string): RoomGrant =>
      department === undefined
        ? { rooms: [name] }
        : {
            refused: `site-wide: a caller of department "${department}" cannot follow ${room.split(':')[0]}`,
          };
    const [kind, id, ...rest] = room.split(':');
    if (rest.length > 0) return { refused: `unknown room "${room}"` };
    switch (kind) {
      case 'site':
      case 'ingest':
        return id === undefined ? siteWide(kind) : { refused: `"${kind}" takes no id` };
      case 'vehicles':
      case 'rooms':
      case 'alerts':
        if (id !== undefined) return { refused: `"${kind}" takes no id` };
        return { rooms: [department === undefined ? kind : `${kind}@${department}`] };
      case 'building':
        if (!facility.buildings.some((b) => b.id === id)) return { refused: `no building "${id ?? ''}"` };
        return siteWide(room);
      case 'department':
        if (!facility.departments.some((d) => d.id === id)) return { refused: `no department "${id ?? ''}"` };
        if (department !== undefined && id !== department)
          return { refused: `only your department "${department}"` };
        return { rooms: [room] };
      case 'vehicle': {
        const vehicle = facility.vehicles.find((v) => v.id === id);
        if (!vehicle) return { refused: `no vehicle "${id ?? ''}"` };
        if (department !== undefined && vehicle.department !== department)
          return { refused: `vehicle "${id}" is not of your department` };
        return { rooms: [room] };
      }
      case 'room': {
        const found = facility.rooms.find((r) => r.id === id);
        if (!found) return { refused: `no room "${id ?? ''}"` };
        if (department !== undefined && found.department !== department)
          return { refused: `room "${id}" is not of your department` };
        return { rooms: [room] };
      }
      default:
        return {
          refused: `unknown room "${room}"; rooms: site, building:<id>, department:<id>, vehicle:<id>, room:<id>, vehicles, rooms, alerts, ingest`,
        };
    }
  }

  /** Sends a socket the latest state of every subject in the rooms it was just granted. */
  async #snapshot(socket: Socket, principal: Principal, rooms: readonly string[]): Promise<void> {
    const facility = this.#facility;
    const feed = this.#options.feed;
    const now = this.#now();
    const department = principal.department;
    const send = (event: string, payload: unknown) => {
      if (payload !== undefined) socket.emit(event, payload);
    };
    const meters = new Set<string>();
    const vehicles = new Set<string>();
    const roomIds = new Set<string>();
    for (const room of rooms) {
      const [kind, id] = room.split(':');
      if (kind === 'site') {
        send('site', feed.siteEvent(now));
        for (const b of facility.buildings) send('building', feed.buildingEvent(b.id, now));
      } else if (kind === 'building') {
        send('building', feed.buildingEvent(id as string, now));
        for (const m of facility.meters) if (m.building === id) meters.add(m.id);
        for (const r of facility.rooms) if (r.building === id) roomIds.add(r.id);
      } else if (kind === 'department') {
        for (const m of facility.meters) if (m.department === id) meters.add(m.id);
        for (const v of facility.vehicles) if (v.department === id) vehicles.add(v.id);
        for (const r of facility.rooms) if (r.department === id) roomIds.add(r.id);
      } else if (kind === 'vehicle') vehicles.add(id as string);
      else if (kind === 'room') roomIds.add(id as string);
      else if (kind === 'vehicles') {
        for (const v of facility.vehicles)
          if (department === undefined || v.department === department) vehicles.add(v.id);
      } else if (kind === 'rooms') {
        for (const r of facility.rooms)
          if (department === undefined || r.department === department) roomIds.add(r.id);
      } else if (kind === 'ingest') send('ingest', feed.ingestEvent());
      else if (kind === 'alerts' && this.#options.alerts) {
        const open = await this.#options.alerts.openAlerts();
        for (const alert of open) {
          if (department === undefined || alert.subject.department === department) {
            send('alert', alertJson(alert, facility.site.timezone));
          }
        }
      }
    }
    if (socket.rooms.has(BATCH)) {
      const events = [...meters].flatMap((id) => feed.meterEvent(id, now) ?? []);
      if (events.length > 0) send('meters', events);
    } else for (const id of meters) send('meter', feed.meterEvent(id, now));
    for (const id of vehicles) send('vehicle', feed.vehicleEvent(id, now));
    for (const id of roomIds) send('room', feed.roomEvent(id, now));
  }

  // ----------------------------------------------------------------------------------- events

  #updates(updates: readonly LiveUpdate[]): void {
    const now = Date.now();
    const ready: string[] = [];
    for (const update of updates) this.#take(`${update.topic}:${update.id}`, now, ready);
    this.#sendAll(ready);
  }

  /**
   * Leading-edge throttle per subject (see the module comment): a subject out of its wait is
   * `ready` to go now; one in its wait is sent when the wait ends.
   */
  #take(key: string, now: number, ready: string[], alert?: Alert): void {
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = { last: Number.NEGATIVE_INFINITY };
      this.#pending.set(key, pending);
    }
    if (alert) pending.alert = alert;
    if (this.#waiting.has(key)) return;
    const due = pending.last + this.#throttleMs;
    if (due <= now) {
      pending.last = now;
      ready.push(key);
      return;
    }
    this.#waiting.add(key);
    this.#arm(due);
  }

  /** Sets the one timer to end by `due` (plus {@link COALESCE_MS}). */
  #arm(due: number): void {
    const at = due + COALESCE_MS;
    if (this.#timer && this.#timerAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#waitsEnded(), Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  #waitsEnded(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const ready: string[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const key of this.#waiting) {
      const pending = this.#pending.get(key);
      if (!pending) {
        this.#waiting.delete(key);
        continue;
      }
      const due = pending.last + this.#throttleMs;
      if (due <= now) {
        this.#waiting.delete(key);
        pending.last = now;
        ready.push(key);
      } else next = Math.min(next, due);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    this.#sendAll(ready);
  }

  /** Sends the subjects that are ready: meters together, the others one by one. */
  #sendAll(keys: readonly string[]): void {
    const meters: string[] = [];
    for (const key of keys) {
      if (key.startsWith('meter:')) meters.push(key.slice('meter:'.length));
      else {
        const pending = this.#pending.get(key);
        if (pending) this.#send(key, pending);
      }
    }
    if (meters.length > 0) this.#sendMeters(meters);
  }

  /**
   * Meters' events: one `meter` event each to the sockets that want them so, one `meters` frame
   * per building (and department) to those that asked for batches. An event is built only when a
   * socket is there to get it.
   */
  #sendMeters(ids: readonly string[]): void {
    const io = this.#io;
    if (!io) return;
    const feed = this.#options.feed;
    const rooms = io.of('/').adapter.rooms;
    const single = (rooms.get(SINGLE)?.size ?? 0) > 0;
    const batch = (rooms.get(BATCH)?.size ?? 0) > 0;
    const now = this.#now();
    const groups = new Map<string, { rooms: string[]; events: MeterEvent[] }>();
    try {
      for (const id of ids) {
        const meter = feed.state.meter(id);
        if (!meter) continue;
        const building = `building:${meter.building}`;
        const department = meter.department ? `department:${meter.department}` : undefined;
        if (!rooms.has(building) && (department === undefined || !rooms.has(department))) continue;
        const event = feed.meterEvent(id, now);
        if (!event) continue;
        const to = department === undefined ? [building] : [building, department];
        if (single) io.local.to(to).except(BATCH).emit('meter', event);
        if (batch) {
          const key = department === undefined ? building : `${building}|${department}`;
          const group = groups.get(key);
          if (group) group.events.push(event);
          else groups.set(key, { rooms: to, events: [event] });
        }
      }
      for (const group of groups.values())
        io.local.to(group.rooms).except(SINGLE).emit('meters', group.events);
    } catch (error) {
      this.#options.logger?.warn(
        { err: error, subjects: ids.length },
        'live: meter events could not be sent',
      );
    }
  }

  #send(key: string, pending: Pending): void {
    const io = this.#io;
    if (!io) return;
    const facility = this.#facility;
    const feed = this.#options.feed;
    const split = key.indexOf(':');
    const topic = key.slice(0, split);
    const id = key.slice(split + 1);
    const now = this.#now();
    try {
      switch (topic) {
        case 'site':
          io.local.to('site').emit('site', feed.siteEvent(now));
          break;
        case 'building':
          io.local.to(['site', `building:${id}`]).emit('building', feed.buildingEvent(id, now));
          break;
        case 'vehicle': {
          const vehicle = feed.state.vehicle(id);
          const event = feed.vehicleEvent(id, now);
          if (!vehicle || !event) break;
          io.local
            .to([
              `vehicle:${id}`,
              'vehicles',
              `vehicles@${vehicle.department}`,
              `department:${vehicle.department}`,
            ])
            .emit('vehicle', event);
          break;
        }
        case 'room': {
          const room = feed.state.room(id);
          const event = feed.roomEvent(id, now);
          if (!room || !event) break;
          io.local
            .to([
              `room:${id}`,
              'rooms',
              `building:${room.building}`,
              ...(room.department ? [`rooms@${room.department}`, `department:${room.department}`] : []),
            ])
            .emit('room', event);
          break;
        }
        case 'ingest': {
          const event = feed.ingestEvent();
          if (event) io.local.to('ingest').emit('ingest', event);
          break;
        }
        case 'alert': {
          const alert = pending.alert;
          if (!alert) break;
          const department = alert.subject.department;
          // Through the adapter: an alert changes in one process, every process's clients hear it.
          io.to(['alerts', ...(department ? [`alerts@${department}`, `department:${department}`] : [])]).emit(
            'alert',
            alertJson(alert, facility.site.timezone),
          );
          if (alert.state === 'resolved') this.#pending.delete(key);
          break;
        }
      }
    } catch (error) {
      this.#options.logger?.warn({ err: error, subject: key }, 'live: an event could not be sent');
    }
  }
}

/** Whether a request's Origin (when it sends one) is the host it was sent to. */
function sameOrigin(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === headers.host;
  } catch {
    return false;
  }
}
