/**
 * The publish gate: the port between the embedded broker (`broker/`) and a consumer in the same
 * process that must have a message committed before the broker acknowledges it to its sender —
 * the in-process ingest (`ingest/broker-ingest.ts`). Neither part imports the other; the
 * composition root hands the ingest to the broker as its gate.
 *
 * Why a gate and not a subscriber: aedes writes a QoS 1 PUBACK before it hands the message to
 * any subscriber (aedes 1.2, `lib/handlers/publish.js`), so a subscriber cannot hold the
 * acknowledgement. Its `authorizePublish` step runs before the PUBACK (and before the PUBREC of
 * QoS 2) and may answer asynchronously; the broker calls the gate there, once its own ACL and
 * limits have passed, and the acknowledgement goes out when the gate lets the message through.
 */

/** One PUBLISH the broker accepted, as the gate sees it. */
export interface GatedPublish {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /**
   * Numbers the connection it came on, unique for the broker's life and never 0; 0 is a Will,
   * published by the broker for a connection that is gone.
   */
  readonly connection: number;
}

/** What the broker calls; implemented by the in-process ingest. */
export interface PublishGate {
  /**
   * A PUBLISH that passed the broker's authentication, ACL and limits, before it is acknowledged
   * and routed. Call `done()` once it may be: for QoS 1 and 2 only once what it carries is
   * committed. `done(error)` refuses it: MQTT 3.1.1 has no negative acknowledgement, so the broker
   * closes the connection [MQTT-3.3.5-2] and the client sends the message again on its next one
   * [MQTT-4.4.0-1]. `done` is called at most once; `admit` never throws.
   */
  admit(publish: GatedPublish, done: (error?: Error) => void): void;
  /**
   * Connection `connection` closed: whatever of it the gate still holds will never be
   * acknowledged (its client sends it again), so the gate may drop what it has not written yet.
   */
  disconnected(connection: number): void;
  /**
   * The retained messages the broker kept from before this start (topic filter `fac/#`), given
   * once before it accepts connections: device status survives a restart.
   */
  restore(messages: ReadonlyArray<{ readonly topic: string; readonly payload: Uint8Array }>): void;
  /**
   * The broker is stopping and accepts no more connections: let through, within `timeoutMs`, what
   * the gate holds, so its acknowledgements go out before the connections close.
   */
  settle(timeoutMs: number): Promise<void>;
}
