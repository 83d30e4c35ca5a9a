/**
 * Telemetry topics (docs/architecture.md, "Telemetry contract (v1)"): `fac/{site}/{kind}/{id}/{channel}`.
 *
 * {@link parseTopic} is the one parser the broker ACL, the ingest router and the tests share; it
 * never throws and says in words why a topic is refused. {@link topicFor} and
 * {@link deviceTopicPrefix} build topics for publishers and the ACL.
 */
import { ID_MAX_LENGTH, ID_PATTERN } from '../facility/schema.ts';
import { didYouMean } from '../facility/suggest.ts';
import { show } from './text.ts';

/** The kinds of device that publish telemetry; each is also a store measurement. */
export const DEVICE_KINDS = ['meter', 'vehicle', 'sensor'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** The data channel of each kind: where its readings go. */
export const DATA_CHANNEL = {
  meter: 'reading',
  vehicle: 'gps',
  sensor: 'state',
} as const satisfies Record<DeviceKind, string>;

/** The channel every kind shares: `online` / `offline`, retained, also the last will. */
export const STATUS_CHANNEL = 'status';

/** The last level of a telemetry topic. */
export type Channel = (typeof DATA_CHANNEL)[DeviceKind] | typeof STATUS_CHANNEL;

/** The channels a device of kind `K` publishes on. */
export type ChannelOf<K extends DeviceKind> = (typeof DATA_CHANNEL)[K] | typeof STATUS_CHANNEL;

/** First level of every telemetry topic. */
export const TOPIC_ROOT = 'fac';

/**
 * Longest topic accepted, in characters. The longest valid topic is
 * `fac/` + 64-character site + `/vehicle/` + 64-character id + `/status`, 148 characters (all
 * ASCII, so also bytes); the limit leaves room for that and bounds the work spent on hostile
 * input, far below MQTT's own 65,535 bytes [MQTT-4.7.3-3].
 */
export const MAX_TOPIC_LENGTH = 256;

/** Which device a topic belongs to. */
export interface DeviceAddress {
  /** Site id, the second topic level. */
  readonly site: string;
  readonly kind: DeviceKind;
  /** Device id (its MQTT username), the fourth topic level. */
  readonly id: string;
}

/** A well-formed telemetry topic, split into its parts. */
export interface DeviceTopic extends DeviceAddress {
  readonly channel: Channel;
}

/** Outcome of {@link parseTopic}. `reason` is a sentence a person can act on. */
export type ParsedTopic =
  | ({ readonly ok: true } & DeviceTopic)
  | { readonly ok: false; readonly reason: string };

const ID_BODY = ID_PATTERN.slice(1, -1); // the pattern without its ^…$ anchors
const ID_REGEX = new RegExp(ID_PATTERN);
const VALID_TOPIC = new RegExp(
  `^${TOPIC_ROOT}/(${ID_BODY})/(meter|vehicle|sensor)/(${ID_BODY})/(reading|gps|state|status)$`,
);
// U+0000 is forbidden in MQTT strings [MQTT-1.5.3-2] and topics [MQTT-4.7.3-2]; the other C0 and
// C1 controls SHOULD NOT appear (MQTT 3.1.1 §1.5.3) and would corrupt logs.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LEVEL_NAMES = ['fac', '{site}', '{kind}', '{id}', '{channel}'] as const;
const ID_RULE =
  'lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, ' +
  `at most ${ID_MAX_LENGTH} characters`;

function channelsOf(kind: DeviceKind): string {
  return `${DATA_CHANNEL[kind]} or ${STATUS_CHANNEL}`;
}

function isKind(level: string): level is DeviceKind {
  return level === 'meter' || level === 'vehicle' || level === 'sensor';
}

/**
 * Splits a telemetry topic `fac/{site}/{kind}/{id}/{channel}` into its parts, or says why it is
 * not one. Never throws.
 *
 * Refused: anything that is not a string; the empty topic; topics longer than
 * {@link MAX_TOPIC_LENGTH}; control characters (U+0000–U+001F, U+007F–U+009F); `$`-topics (the
 * broker's own, such as `$SYS`); the wildcards `+` and `#`; a first level other than `fac`; a
 * number of levels other than 5; empty, `.` and `..` levels; a kind other than
 * `meter`/`vehicle`/`sensor`; a channel that is not the kind's (a meter publishes `reading` and
 * `status`, a vehicle `gps` and `status`, a sensor `state` and `status`); a site or device id that
 * breaks the facility's id syntax ({@link ID_PATTERN}, at most {@link ID_MAX_LENGTH} characters).
 */
export function parseTopic(topic: string): ParsedTopic {
  const match = typeof topic === 'string' ? VALID_TOPIC.exec(topic) : null;
  if (match !== null) {
    const site = match[1] as string;
    const kind = match[2] as DeviceKind;
    const id = match[3] as string;
    const channel = match[4] as Channel;
    if (
      site.length <= ID_MAX_LENGTH &&
      id.length <= ID_MAX_LENGTH &&
      (channel === STATUS_CHANNEL || channel === DATA_CHANNEL[kind])
    ) {
      return { ok: true, site, kind, id, channel };
    }
  }
  return { ok: false, reason: diagnoseTopic(topic) };
}

/** Why `topic` is not a telemetry topic; only called once the fast pattern did not match. */
function diagnoseTopic(topic: unknown): string {
  if (typeof topic !== 'string') return `topic must be a string, got ${typeof topic}`;
  // [MQTT-4.7.3-1]
  if (topic.length === 0) return 'topic is empty';
  if (topic.length > MAX_TOPIC_LENGTH) {
    return `topic is ${topic.length} characters long; the longest accepted is ${MAX_TOPIC_LENGTH}`;
  }
  const control = CONTROL.exec(topic);
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `topic contains the control character U+${code} at position ${control.index}`;
  }
  // [MQTT-4.7.2-1]: `$` topics belong to the broker ($SYS…); devices never publish there.
  if (topic.startsWith('$')) return 'topics starting with "$" are reserved for the broker';
  // [MQTT-4.7.1-1]: wildcards are for subscriptions, never in the name a message is published to.
  const wildcard = topic.search(/[+#]/);
  if (wildcard >= 0) {
    return `topic contains the wildcard "${topic[wildcard]}" at position ${wildcard}; a topic name must not contain + or #`;
  }
  const levels = topic.split('/');
  if (levels[0] !== TOPIC_ROOT) {
    return `topic must start with "${TOPIC_ROOT}/" (fac/{site}/{kind}/{id}/{channel}), got ${show(topic)}`;
  }
  if (levels.length !== LEVEL_NAMES.length) {
    return `topic has ${levels.length} levels; expected ${LEVEL_NAMES.length}, fac/{site}/{kind}/{id}/{channel}`;
  }
  for (let index = 1; index < levels.length; index++) {
    const level = levels[index] as string;
    const name = LEVEL_NAMES[index] as string;
    if (level === '') return `level ${index + 1} (${name}) is empty`;
    if (level === '.' || level === '..') {
      return `level ${index + 1} (${name}) is ${show(level)}; relative levels are not allowed`;
    }
  }
  const [, site = '', kind = '', id = '', channel = ''] = levels;
  if (!isKind(kind)) {
    return `unknown device kind ${show(kind)}${didYouMean(kind, DEVICE_KINDS)}; expected meter, vehicle or sensor`;
  }
  if (channel !== STATUS_CHANNEL && channel !== DATA_CHANNEL[kind]) {
    const known = (Object.values(DATA_CHANNEL) as string[]).includes(channel);
    return known
      ? `a ${kind} does not publish on ${show(channel)}; a ${kind} publishes ${channelsOf(kind)}`
      : `unknown channel ${show(channel)}${didYouMean(channel, [DATA_CHANNEL[kind], STATUS_CHANNEL])}; a ${kind} publishes ${channelsOf(kind)}`;
  }
  if (!isId(site)) return `site ${show(site)} is not a valid id (${ID_RULE})`;
  if (!isId(id)) return `device id ${show(id)} is not a valid id (${ID_RULE})`;
  // Unreachable while VALID_TOPIC and the checks above agree; kept so a drift cannot pass a topic.
  return 'topic is not a telemetry topic';
}

function isId(value: string): boolean {
  return value.length <= ID_MAX_LENGTH && ID_REGEX.test(value);
}

/**
 * The topic a device publishes on: `fac/{site}/{kind}/{id}/{channel}`.
 *
 * @throws RangeError when `site` or `id` is not a valid id, or `channel` is not one of the kind's:
 *   a programming error, since both come from a validated facility.
 */
export function topicFor<K extends DeviceKind>(
  kind: K,
  site: string,
  id: string,
  channel: ChannelOf<K>,
): string {
  const topic = `${TOPIC_ROOT}/${site}/${kind}/${id}/${channel}`;
  const parsed = parseTopic(topic);
  if (!parsed.ok) throw new RangeError(`topicFor(${kind}, ${site}, ${id}, ${channel}): ${parsed.reason}`);
  return topic;
}

/**
 * The prefix, with its trailing `/`, of every topic of one device: `fac/{site}/{kind}/{id}/`. The
 * trailing `/` keeps `v1` from matching `v10`. For the broker ACL: a device may publish and
 * subscribe only to topics starting with its own prefix. A prefix match alone admits deeper or
 * unknown channels (`…/v1/gps/x`), so a publish must also pass {@link parseTopic}.
 */
export function deviceTopicPrefix(site: string, kind: DeviceKind, id: string): string {
  return `${TOPIC_ROOT}/${site}/${kind}/${id}/`;
}
