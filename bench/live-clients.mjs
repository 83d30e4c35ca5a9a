// A worker thread of `npm run bench:live` (bench/live.bench.ts), plain JavaScript so that a worker
// needs no TypeScript loader: `clients` socket.io clients subscribed to `building:b1` as the live
// page subscribes (meters in `meters` batches; `batch` false: one `meter` event each); posts `{ ready }` once all are subscribed, then the
// latency of each reading of the virtual meters received in [measureFrom, measureTo): receipt of
// the first event carrying it − the event's `at` (the reading's `ts`, i.e. when it was published).
import { parentPort, workerData } from 'node:worker_threads';
import { io } from 'socket.io-client';

const { url, token, clients, measureFrom, measureTo, batch } = workerData;
const latencies = [];
let received = 0;
const sockets = [];
for (let i = 0; i < clients; i++) {
  const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false });
  // A reading is pushed once, with today's use; should one come again (a fold changing today's
  // figure), its latency is that of its first update.
  const seen = new Map();
  const take = (event, now) => {
    if (now < measureFrom || now >= measureTo || !event.id.startsWith('load-')) return;
    if (seen.get(event.id) === event.at) return;
    seen.set(event.id, event.at);
    received++;
    latencies.push(now - Date.parse(event.at));
  };
  socket.on('meters', (events) => {
    const now = Date.now();
    for (const event of events) take(event, now);
  });
  socket.on('meter', (event) => take(event, Date.now()));
  await socket.timeout(20_000).emitWithAck('subscribe', { rooms: ['building:b1'], batch });
  sockets.push(socket);
}
parentPort.postMessage({ ready: true });
await new Promise((resolve) => setTimeout(resolve, Math.max(0, measureTo - Date.now() + 500)));
for (const socket of sockets) socket.close();
parentPort.postMessage({ latencies, received });
