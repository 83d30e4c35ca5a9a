/**
 * The one place that holds live state: one socket.io connection to the api's live gateway
 * (`/socket.io`), the rooms the page follows, and the latest event of every subject. Views only
 * read it. The server sends the latest state of each room at once after `subscribe`, then at most
 * four pushes a second per subject.
 */
import { io, type Socket } from 'socket.io-client';
import { reactive, shallowReactive } from 'vue';
import type { Credentials } from '../api/client.ts';
import type {
  Alert,
  BuildingLive,
  IngestLive,
  MeterLive,
  RoomLive,
  SiteLive,
  VehicleLive,
} from '../api/types.ts';

export type Connection = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'refused';

/** How many points of the site's power the page keeps for its live curve (one a push). */
const POWER_HISTORY = 720;
/** Positions kept per vehicle for its trail on the map. */
const TRAIL = 40;

export interface LiveState {
  connection: Connection;
  /** Why the server refused the connection (its message), when it did. */
  refusedBecause: string | null;
  /** Rooms the server would not let this user follow, with its reason. */
  refused: { room: string; reason: string }[];
  site: SiteLive | null;
  buildings: Record<string, BuildingLive>;
  meters: Record<string, MeterLive>;
  vehicles: Record<string, VehicleLive>;
  trails: Record<string, [number, number][]>;
  rooms: Record<string, RoomLive>;
  ingest: IngestLive | null;
  /** Alerts pushed since the page connected, by id (the Alerts view merges them into its list). */
  alerts: Record<string, Alert>;
  /** `[epoch ms, kW]` of the site, one per push. */
  sitePower: [number, number][];
  /** When the last event of any kind arrived, epoch ms. */
  lastEventAt: number | null;
}

// The maps by id are shallow: each event replaces a subject's object whole.
const byId = <T>() => shallowReactive<Record<string, T>>({});

export const live = reactive<LiveState>({
  connection: 'idle',
  refusedBecause: null,
  refused: [],
  site: null,
  buildings: byId<BuildingLive>(),
  meters: byId<MeterLive>(),
  vehicles: byId<VehicleLive>(),
  trails: byId<[number, number][]>(),
  rooms: byId<RoomLive>(),
  ingest: null,
  alerts: byId<Alert>(),
  sitePower: [],
  lastEventAt: null,
}) as LiveState;

let socket: Socket | null = null;
let wanted: string[] = [];
const alertListeners = new Set<(alert: Alert) => void>();

/** Connects with the page's credentials and follows `rooms`; replaces an earlier connection. */
export function connectLive(credentials: Credentials, rooms: readonly string[]): void {
  disconnectLive();
  wanted = [...rooms];
  live.connection = 'connecting';
  // A token goes in the handshake; a session rides on its cookie (same origin).
  socket = io({
    path: '/socket.io',
    transports: ['websocket'],
    withCredentials: true,
    reconnectionDelayMax: 10_000,
    ...(credentials.kind === 'token' ? { auth: { token: credentials.token } } : {}),
  });
  socket.on('connect', () => {
    live.connection = 'connected';
    live.refusedBecause = null;
    subscribe();
  });
  socket.on('disconnect', () => {
    if (live.connection !== 'refused') live.connection = 'disconnected';
  });
  socket.on('connect_error', (error: Error) => {
    // The server refused the handshake (a middleware error): no retry will help.
    if (socket && !socket.active) {
      live.connection = 'refused';
      live.refusedBecause = error.message;
    } else {
      live.connection = 'disconnected';
    }
  });
  socket.on('site', (event: SiteLive) => {
    live.site = event;
    if (event.powerKw !== null) {
      const at = Date.parse(event.at);
      const last = live.sitePower.at(-1);
      if (last === undefined || at > last[0]) {
        live.sitePower.push([at, event.powerKw]);
        if (live.sitePower.length > POWER_HISTORY)
          live.sitePower.splice(0, live.sitePower.length - POWER_HISTORY);
      }
    }
    touched();
  });
  socket.on('building', (event: BuildingLive) => {
    live.buildings[event.id] = event;
    touched();
  });
  // Meters come in batches (`batch: true` below): one frame for the meters that changed together.
  socket.on('meters', (events: MeterLive[]) => {
    for (const event of events) live.meters[event.id] = event;
    touched();
  });
  socket.on('meter', (event: MeterLive) => {
    live.meters[event.id] = event;
    touched();
  });
  socket.on('vehicle', (event: VehicleLive) => {
    live.vehicles[event.id] = event;
    const trail = [...(live.trails[event.id] ?? [])];
    const last = trail.at(-1);
    if (last === undefined || last[0] !== event.lon || last[1] !== event.lat)
      trail.push([event.lon, event.lat]);
    live.trails[event.id] = trail.slice(-TRAIL);
    touched();
  });
  socket.on('room', (event: RoomLive) => {
    live.rooms[event.id] = event;
    touched();
  });
  socket.on('ingest', (event: IngestLive) => {
    live.ingest = event;
    touched();
  });
  socket.on('alert', (event: Alert) => {
    live.alerts[event.id] = event;
    for (const listener of alertListeners) listener(event);
    touched();
  });
}

/** Calls `listener` with every alert pushed; returns the function that stops it. */
export function onAlert(listener: (alert: Alert) => void): () => void {
  alertListeners.add(listener);
  return () => alertListeners.delete(listener);
}

export function disconnectLive(): void {
  socket?.removeAllListeners();
  socket?.disconnect();
  socket = null;
  live.connection = 'idle';
  live.refused = [];
  live.site = null;
  live.ingest = null;
  live.sitePower = [];
  live.lastEventAt = null;
  for (const record of [live.buildings, live.meters, live.vehicles, live.trails, live.rooms, live.alerts]) {
    for (const key of Object.keys(record)) delete record[key];
  }
}

function subscribe(): void {
  socket
    ?.timeout(10_000)
    .emit(
      'subscribe',
      { rooms: wanted, batch: true },
      (
        error: Error | null,
        answer?: { rooms?: string[]; refused?: (string | { room: string; reason: string })[] },
      ) => {
        if (error) return;
        live.refused = (answer?.refused ?? []).map((r) =>
          typeof r === 'string' ? { room: r, reason: '' } : r,
        );
      },
    );
}

function touched(): void {
  live.lastEventAt = Date.now();
}
