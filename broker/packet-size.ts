/**
 * A guard on the size of MQTT packets arriving on a connection, applied before they are buffered.
 *
 * mqtt-packet's parser (which aedes uses) has no size limit for MQTT 3.1.1: it buffers a packet
 * until the whole Remaining Length (up to 256 MiB, MQTT 3.1.1 §2.2.3) has arrived. The broker
 * refuses payloads over its limit in `authorizePublish`, but only after buffering them; this
 * guard reads each packet's fixed header as the bytes go by and reports a packet too long as
 * soon as its header says so, so one client cannot make the broker hold megabytes.
 */
import type { Duplex } from 'node:stream';

/**
 * Watches the packets read from `stream` and calls `onOversize` once, with the packet's
 * Remaining Length, when one is longer than `maxRemainingLength`. The caller closes the stream.
 *
 * It listens to `data`, which a stream read through `readable` and `read()` (as aedes reads)
 * emits for each chunk read without changing the flow, so it must be attached after aedes
 * attached its `readable` listener.
 */
export function watchPacketSize(
  stream: Duplex,
  maxRemainingLength: number,
  onOversize: (remainingLength: number) => void,
): void {
  // Position in the current packet: its fixed header's first byte, its Remaining Length
  // (1–4 bytes, 7 bits each, least significant first: §2.2.3), then its body.
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let left = 0;
  let tripped = false;

  const onData = (chunk: Buffer | string) => {
    if (tripped || typeof chunk === 'string') return;
    let i = 0;
    while (i < chunk.length) {
      if (state === 'body') {
        const skip = Math.min(left, chunk.length - i);
        i += skip;
        left -= skip;
        if (left === 0) state = 'type';
      } else if (state === 'type') {
        i += 1;
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
      } else {
        const byte = chunk[i] ?? 0;
        i += 1;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes += 1;
        if (length > maxRemainingLength) {
          tripped = true;
          stream.off('data', onData);
          onOversize(length);
          return;
        }
        if ((byte & 0x80) === 0) {
          left = length;
          state = left === 0 ? 'type' : 'body';
        } else if (lengthBytes === 4) {
          // A fifth length byte is malformed (§2.2.3); mqtt-packet reports it and aedes closes.
          stream.off('data', onData);
          return;
        }
      }
    }
  };
  stream.on('data', onData);
}
