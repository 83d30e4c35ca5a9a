/**
 * Password guessing does not stall the platform: the throttles and the verification bound of
 * broker/login-guard.ts as pure parts (hand-worked tables), then in a real FacilityBroker on a
 * free port, logging in from several loopback addresses, with an injected clock.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FacilityBroker, type FacilityBrokerOptions } from '../../broker/broker.ts';
import { addressKey, LoginGuard, LoginThrottle, VerificationBusyError } from '../../broker/login-guard.ts';
import { DEMO_FACILITY_PATH, type Facility, hashSecret, loadFacility } from '../../core/facility/index.ts';
import { loginFrom } from '../setup/connect-from.ts';

const HASHED = { id: 's-b1-m0301', secret: 'hashed-secret' };
const PLAIN = { id: 'b1-e-main', secret: 'demo-b1-e-main' };

/** The demo facility with one sensor's credential as a (cheap) scrypt `secretHash`. */
const facility: Facility = await (async () => {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error('demo facility does not load');
  const secretHash = await hashSecret(HASHED.secret, { N: 1024, r: 8, p: 1 });
  const sensors = loaded.facility.sensors.map((sensor) => {
    if (sensor.id !== HASHED.id) return sensor;
    const { secret: _plain, ...rest } = sensor;
    return { ...rest, secretHash };
  });
  return { ...loaded.facility, sensors };
})();

describe('LoginThrottle', () => {
  // free 2, first back-off 1 s, lock 8 s, forgotten after 60 s.
  const make = () =>
    new LoginThrottle({ free: 2, baseDelayMs: 1000, lockMs: 8000, forgetMs: 60_000, maxKeys: 3 });

  it('backs off exponentially after the free failures, up to the lock', () => {
    const throttle = make();
    // failures:   1  2  3     4     5     6     7
    // back-off:   0  0  1 s   2 s   4 s   8 s   8 s (the lock: 2^4 s capped at 8 s)
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => throttle.delayAfter(n))).toEqual([
      0, 0, 1000, 2000, 4000, 8000, 8000,
    ]);
    expect(throttle.fail('a', 0)).toEqual({ blocked: undefined, lockedNow: false });
    expect(throttle.fail('a', 10)).toEqual({ blocked: undefined, lockedNow: false });
    expect(throttle.blocked('a', 20)).toBeUndefined();
    expect(throttle.fail('a', 20)).toEqual({ blocked: { untilMs: 1020, locked: false }, lockedNow: false });
    expect(throttle.blocked('a', 1019)).toEqual({ untilMs: 1020, locked: false });
    expect(throttle.blocked('a', 1020)).toBeUndefined();
    throttle.fail('a', 1020); // 4th: 2 s
    throttle.fail('a', 3020); // 5th: 4 s
    expect(throttle.fail('a', 7020)).toEqual({ blocked: { untilMs: 15_020, locked: true }, lockedNow: true });
    // Still locked at the next failure: not "locked now" again.
    expect(throttle.fail('a', 15_020).lockedNow).toBe(false);
    expect(throttle.countBlocked(15_021)).toBe(1);
  });

  it('forgets a key a while after its last failure, clears it on success, and bounds its keys', () => {
    const throttle = make();
    for (let i = 0; i < 3; i++) throttle.fail('a', i);
    expect(throttle.blocked('a', 500)).toBeDefined();
    // 60 s after the last failure, with the back-off over: a fresh start (2 free failures again).
    expect(throttle.fail('a', 60_002).blocked).toBeUndefined();
    throttle.clear('a');
    expect(throttle.size).toBe(0);
    for (const key of ['k1', 'k2', 'k3', 'k4']) throttle.fail(key, 0);
    expect(throttle.size).toBe(3);
  });
});

describe('addressKey', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s → %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe('LoginGuard', () => {
  it('holds a user name from unknown addresses, but not from one it logged in from before', () => {
    let now = 0;
    const guard = new LoginGuard({
      free: { user: 1, address: 100 },
      baseDelayMs: 1000,
      lockMs: 4000,
      now: () => now,
    });
    guard.succeeded('dev', '10.0.0.1');
    guard.failed('dev', '10.0.0.66');
    guard.failed('dev', '10.0.0.67'); // 2nd failure of "dev": 1 s back-off
    expect(guard.admit('dev', '10.0.0.68')).toMatchObject({ ok: false, by: 'user', key: 'dev' });
    expect(guard.admit('dev', '10.0.0.1')).toMatchObject({ ok: true });
    now = 1000;
    expect(guard.admit('dev', '10.0.0.68')).toMatchObject({ ok: true });
    expect(guard.counters.throttled).toEqual({ user: 1, address: 0 });
  });

  it('keeps known devices behind a NAT address in when a neighbour keeps failing, and throttles a known pair by itself', () => {
    let now = 0;
    const guard = new LoginGuard({
      free: { user: 2, address: 3 },
      baseDelayMs: 1000,
      lockMs: 4000,
      now: () => now,
    });
    guard.succeeded('a', 'nat');
    guard.succeeded('b', 'nat');
    // A misconfigured neighbour: 4 failures put the address in a 1 s back-off…
    for (let i = 0; i < 4; i++) guard.failed('broken', 'nat');
    expect(guard.admit('new', 'nat')).toMatchObject({ ok: false, by: 'address', key: 'nat' });
    // …which holds logins unknown there, not the devices that logged in from it before.
    expect(guard.admit('a', 'nat')).toMatchObject({ ok: true });
    // Wrong secrets as "a" from its own address count against that pair: 2 free, then 1 s.
    for (let i = 0; i < 3; i++) guard.failed('a', 'nat');
    expect(guard.admit('a', 'nat')).toMatchObject({ ok: false, by: 'user', key: 'a' });
    expect(guard.admit('b', 'nat')).toMatchObject({ ok: true });
    // The pair's failures are not the user name's: "a" from elsewhere is not held.
    expect(guard.admit('a', '10.9.9.9')).toMatchObject({ ok: true });
    now = 1000;
    expect(guard.admit('a', 'nat')).toMatchObject({ ok: true });
  });

  it('verifies a clean login before the suspicious ones waiting, and one at a time per guessed user name', async () => {
    const guard = new LoginGuard({
      free: { user: 100, address: 100 },
      maxConcurrent: 1,
      maxInFlight: { user: 1, address: 2 },
    });
    guard.failed('target', '10.0.0.66');
    const order: string[] = [];
    const task = (name: string) => async () => {
      order.push(name);
      await sleep(10);
      return name;
    };
    const admitted = (user: string, address: string) => {
      const admission = guard.admit(user, address);
      if (!admission.ok) throw new Error(`${user}@${address} refused by ${admission.by}`);
      return admission;
    };
    // Guesses at "target" (it has a failure): the first runs, the second waits…
    const first = admitted('target', '10.0.0.66').schedule(task('guess 1'));
    const second = admitted('other', '10.0.0.66').schedule(task('guess 2'));
    // …a third guess at "target" while one is in flight is refused at once, as throttled…
    expect(guard.admit('target', '10.0.0.67')).toMatchObject({ ok: false, by: 'user', blocked: undefined });
    // …and so is a third from 10.0.0.66 (2 in flight there).
    expect(guard.admit('someone', '10.0.0.66')).toMatchObject({ ok: false, by: 'address' });
    // A device with no failures, from a clean address, goes ahead of guess 2.
    const device = admitted('device', '10.0.0.1').schedule(task('device'));
    await Promise.all([first, second, device]);
    expect(order).toEqual(['guess 1', 'device', 'guess 2']);
    // Slots are given back.
    expect(guard.admit('target', '10.0.0.67')).toMatchObject({ ok: true });
  });

  it('runs at most maxConcurrent verifications and refuses past maxQueued', async () => {
    const guard = new LoginGuard({ maxConcurrent: 2, maxQueued: 3 });
    let running = 0;
    let most = 0;
    const task = async () => {
      running++;
      most = Math.max(most, running);
      await sleep(20);
      running--;
      return true;
    };
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => guard.verify(task)));
    // 2 start at once, 3 wait; the other 3 are refused at once.
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r.reason).toBeInstanceOf(VerificationBusyError);
    expect(most).toBe(2);
    expect(guard.counters).toMatchObject({ verifications: 5, busy: 3 });
  });
});

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly reason?: string;
  readonly who?: string;
  readonly by?: string;
  readonly hint?: string;
  readonly address?: string;
}

/** A started broker with an injected clock and its log lines, stopped when the test ends. */
async function startBroker(options: Partial<FacilityBrokerOptions> = {}) {
  const clock = { now: 1_000_000 };
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  const broker = new FacilityBroker({
    facility,
    services: [],
    mqttPort: 0,
    persistence: { kind: 'memory' },
    logger,
    now: () => clock.now,
    // Every login verifies: the cache would hide the scrypt runs this test counts.
    secretCacheTtlMs: 0,
    ...options,
  });
  onTestFinished(() => broker.stop());
  await broker.start();
  const port = broker.ports.mqtt as number;
  const login = (
    from: string,
    who: { id: string; secret: string },
    password = who.secret,
    clientId = who.id,
  ) => loginFrom({ port, from, clientId, username: who.id, password }).then((r) => r.code);
  const metric = async (name: string) => {
    const text = await broker.registry.metrics();
    return Number(
      new RegExp(`^${name.replace(/[{}"=]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN,
    );
  };
  return { broker, clock, lines, login, metric };
}

describe('FacilityBroker: failed logins', () => {
  it('throttles a guessed user name: CONNACK 3 without scrypt, one log line per period, the device still in from its address', async () => {
    const { lines, login, metric, clock } = await startBroker({
      loginGuard: { free: { user: 3, address: 100 }, baseDelayMs: 10_000, lockMs: 60_000 },
    });
    // The device logged in before from 127.0.0.1: that address is known for it.
    expect(await login('127.0.0.1', HASHED)).toBe(0);
    // Three wrong guesses from three addresses: CONNACK 4 each (free), scrypt each.
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4'])
      expect(await login(from, HASHED, 'guess')).toBe(4);
    // The 4th wrong guess sets a 10 s back-off (10 s × 2^0) on the user name…
    expect(await login('127.0.0.5', HASHED, 'guess')).toBe(4);
    const verified = await metric('broker_secret_verifications_total');
    expect(verified).toBe(5); // the good login and 4 guesses
    // …so for 10 s every other login as this user from an unknown address is refused with
    // CONNACK 3 at once, the right password included, and scrypt does not run.
    expect(await login('127.0.0.6', HASHED, 'guess')).toBe(3);
    expect(await login('127.0.0.7', HASHED)).toBe(3);
    expect(await metric('broker_secret_verifications_total')).toBe(verified);
    expect(await metric('broker_login_throttled_total{by="user"}')).toBe(2);
    expect(await metric('broker_login_failures_total')).toBe(4);
    // The device itself, from the address it used before, gets in.
    expect(await login('127.0.0.1', HASHED)).toBe(0);
    // One log line for the throttled user name in this period, saying why.
    const throttled = lines.filter((l) => l.reason === 'login-throttled');
    expect(throttled).toHaveLength(1);
    expect(throttled[0]).toMatchObject({ msg: 'refused', who: HASHED.id, by: 'user', level: 40 });
    expect(throttled[0]?.hint).toMatch(/too many failed logins from this user name/);
    // The device's login cleared the user name's failures: guesses start over, 3 free, then 10 s.
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      expect(await login(from, HASHED, 'guess')).toBe(4);
    }
    expect(await login('127.0.0.8', HASHED)).toBe(3);
    // After the back-off the user name may try again, and a wrong guess doubles it: 20 s.
    clock.now += 10_000;
    expect(await login('127.0.0.8', HASHED, 'guess')).toBe(4);
    clock.now += 19_999;
    expect(await login('127.0.0.8', HASHED)).toBe(3);
    clock.now += 1;
    expect(await login('127.0.0.8', HASHED)).toBe(0);
    // Still one log line: both throttled spells fell in the same minute.
    expect(lines.filter((l) => l.reason === 'login-throttled')).toHaveLength(1);
  });

  it('throttles an address spraying user names, and locks it; other addresses are not affected', async () => {
    const { login, metric, lines } = await startBroker({
      loginGuard: { free: { user: 100, address: 4 }, baseDelayMs: 1000, lockMs: 2000 },
    });
    // Unknown users and wrong plain secrets: no scrypt, still failures of the address.
    const users = ['nobody', 'b2-e-main', 'v01', 'root', 'admin'];
    const codes = [];
    for (const id of users) codes.push(await login('127.0.0.9', { id, secret: 'x' }));
    // 4 free failures, the 5th sets 1 s; the 6th attempt (the right password!) is refused.
    expect(codes).toEqual([4, 4, 4, 4, 4]);
    expect(await login('127.0.0.9', PLAIN)).toBe(3);
    expect(await login('127.0.0.10', PLAIN)).toBe(0);
    expect(await metric('broker_login_throttled_total{by="address"}')).toBe(1);
    expect(await metric('broker_login_blocked{by="address"}')).toBe(1);
    expect(lines.find((l) => l.reason === 'login-throttled')).toMatchObject({
      by: 'address',
      who: '127.0.0.9',
    });
    // nobody, root, admin are no device; b2-e-main and v01 are, with another secret.
    expect(await metric('broker_refusals_total{reason="unknown-user"}')).toBe(3);
    expect(await metric('broker_refusals_total{reason="bad-password"}')).toBe(2);
  });

  it('counts a lock when a key reaches it', async () => {
    const { login, metric, clock } = await startBroker({
      loginGuard: { free: { user: 1, address: 100 }, baseDelayMs: 1000, lockMs: 2000 },
    });
    // Failures 2 and 3 of the user name: 1 s, then 2 s = the lock.
    expect(await login('127.0.0.2', PLAIN, 'a')).toBe(4);
    expect(await login('127.0.0.2', PLAIN, 'b')).toBe(4);
    clock.now += 1000;
    expect(await login('127.0.0.2', PLAIN, 'c')).toBe(4);
    expect(await metric('broker_login_locks_total{by="user"}')).toBe(1);
    expect(await metric('broker_login_locks_total{by="address"}')).toBe(0);
  });

  it('bounds concurrent scrypt verifications, and refuses logins past the queue as busy (CONNACK 3)', async () => {
    // A costly hash, so verifications overlap: N = 16384 (Node's default) takes tens of ms.
    const costly: Facility = {
      ...facility,
      sensors: await Promise.all(
        facility.sensors.map(async (sensor, i) => {
          if (i >= 16) return sensor;
          const { secret: _plain, secretHash: _hash, ...rest } = sensor;
          return { ...rest, secretHash: await hashSecret(`secret-${sensor.id}`) };
        }),
      ),
    };
    const { broker, login, metric, lines } = await startBroker({
      facility: costly,
      loginGuard: { free: { user: 100, address: 100 }, maxConcurrent: 2, maxQueued: 4 },
    });
    let most = 0;
    let queued = 0;
    const watch = setInterval(() => {
      most = Math.max(most, broker.verifying.active);
      queued = Math.max(queued, broker.verifying.queued);
    }, 1);
    onTestFinished(() => clearInterval(watch));
    // 16 wrong logins at once, each a different device (so none shares a verification).
    const codes = await Promise.all(
      costly.sensors
        .slice(0, 16)
        .map((sensor, i) => login(`127.0.0.${20 + i}`, { id: sensor.id, secret: 'wrong' })),
    );
    clearInterval(watch);
    expect(most).toBe(2);
    expect(queued).toBeGreaterThan(0);
    // 2 running + 4 waiting verified (CONNACK 4); the rest were refused as busy (CONNACK 3).
    expect(codes.filter((c) => c === 4).length).toBeGreaterThanOrEqual(6);
    expect(codes.filter((c) => c === 3).length).toBe(16 - codes.filter((c) => c === 4).length);
    expect(codes.filter((c) => c === 3).length).toBeGreaterThan(0);
    expect(await metric('broker_refusals_total{reason="auth-busy"}')).toBe(
      codes.filter((c) => c === 3).length,
    );
    expect(lines.some((l) => l.reason === 'auth-busy' && /try again shortly/.test(l.hint ?? ''))).toBe(true);
  });
});

describe('FacilityBroker: a device with another client id', () => {
  it('is refused with CONNACK 2, and the log says why and how to connect', async () => {
    const { login, lines } = await startBroker();
    expect(await login('127.0.0.1', PLAIN, PLAIN.secret, 'my-meter-1')).toBe(2);
    const line = lines.find((l) => l.reason === 'client-id');
    expect(line).toMatchObject({ msg: 'refused', who: PLAIN.id, level: 40, address: '127.0.0.1' });
    expect(line?.hint).toBe(
      'client id must equal the device id: connect as "b1-e-main" with client id "b1-e-main" (mosquitto_pub -i b1-e-main)',
    );
    // A client id refusal is not a guess: it does not count against the user name.
    expect(await login('127.0.0.1', PLAIN)).toBe(0);
  });
});
