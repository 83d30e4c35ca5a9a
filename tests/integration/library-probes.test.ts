/**
 * The start-up probes of library behaviour the platform leans on but the libraries do not promise
 * (ingest/mqtt-probe.ts, broker/aedes-probe.ts): they pass on the installed, pinned versions, and
 * report — naming the library and its version — a library that behaves otherwise, simulated here.
 */
import { readFileSync } from 'node:fs';
import { MQTTJS_VERSION, MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { aedesProbeError, probeAedesDelivery, VERIFIED_AEDES } from '../../broker/aedes-probe.ts';
import { deliverOutOfOrder } from '../../broker/broker.ts';
import { mqttProbeError, probeMqttAcknowledgements, VERIFIED_MQTTJS } from '../../ingest/mqtt-probe.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** An mqtt.js that sends the PUBACK whatever `handleMessage` answers (what a change could do). */
class AcknowledgesAnyway extends MqttClient {
  constructor(...args: ConstructorParameters<typeof MqttClient>) {
    super(...args);
    let handler: MqttClient['handleMessage'] = (_packet, callback) => callback();
    Object.defineProperty(this, 'handleMessage', {
      get: (): MqttClient['handleMessage'] => (packet, callback) => handler(packet, () => callback()),
      set: (next: MqttClient['handleMessage']) => {
        handler = next;
      },
    });
  }
}

describe('library versions', () => {
  it('pins mqtt and aedes to the exact versions the probes were verified with', () => {
    expect(pkg.dependencies.mqtt).toBe(VERIFIED_MQTTJS);
    expect(pkg.dependencies.aedes).toBe(VERIFIED_AEDES);
    expect(MQTTJS_VERSION).toBe(VERIFIED_MQTTJS);
  });
});

describe('mqtt.js probe', () => {
  it('passes on the installed mqtt.js: a PUBACK is withheld on an error, and sent by _sendPacket', async () => {
    expect(await probeMqttAcknowledgements()).toBeUndefined();
  });

  it('reports an mqtt.js that acknowledges anyway', async () => {
    const problem = await probeMqttAcknowledgements(AcknowledgesAnyway);
    // PUBACK of packet 7: 0x40 0x02 0x00 0x07.
    expect(problem).toBe(
      'it sent 40020007 after handleMessage answered with an error, where nothing was due',
    );
    expect(mqttProbeError(problem as string).message).toMatch(
      new RegExp(
        `^ingest: mqtt.js ${MQTTJS_VERSION} does not withhold .* verified with mqtt ${VERIFIED_MQTTJS}`,
      ),
    );
  });
});

describe('aedes probe', () => {
  it('passes on the installed aedes with the broker’s replacement of the delivery record', async () => {
    expect(await probeAedesDelivery(deliverOutOfOrder)).toBeUndefined();
  });

  it('reports an aedes whose clients skip a delivery with a lower counter despite the replacement', async () => {
    // Without the replacement, stock aedes is exactly such a library.
    const problem = await probeAedesDelivery(() => {}, 300);
    expect(problem).toBe('of two messages with broker counters 2 then 1, the client got 2');
    expect(aedesProbeError(problem as string, '9.9.9').message).toMatch(
      /^broker: aedes 9\.9\.9 does not let the broker deliver .* Verified with aedes 1\.2\.0/,
    );
  });
});
