/**
 * Device secret hashes, as the facility file's `secretHash` writes them:
 *
 * ```
 * scrypt:N:r:p:saltB64:hashB64        e.g. scrypt:16384:8:1:c2FsdHNhbHRzYWx0c2FsdA==:…
 * ```
 *
 * N (CPU/memory cost, a power of two > 1), r (block size) and p (parallelism) are the scrypt
 * parameters (RFC 7914); salt and derived key are standard base64 (padding optional), each at
 * least 16 bytes. The password a device presents over MQTT is the secret's UTF-8 bytes.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** A parsed `secretHash`. */
export interface SecretHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Parameters {@link hashSecret} uses unless told otherwise: the scrypt defaults Node uses. */
export const DEFAULT_SCRYPT = { N: 16_384, r: 8, p: 1 } as const;

const MIN_BYTES = 16;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses a `secretHash`, or says what is wrong with it. */
export function parseSecretHash(
  text: string,
): { ok: true; value: SecretHash } | { ok: false; reason: string } {
  const parts = text.split(':');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    return { ok: false, reason: 'must be written scrypt:N:r:p:saltB64:hashB64' };
  }
  const [, nText, rText, pText, saltText, hashText] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const [N, r, p] = [nText, rText, pText].map((t) => (/^\d+$/.test(t) ? Number(t) : Number.NaN)) as [
    number,
    number,
    number,
  ];
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) {
    return { ok: false, reason: `scrypt N must be a power of two greater than 1, not ${nText}` };
  }
  if (!Number.isSafeInteger(r) || r < 1)
    return { ok: false, reason: `scrypt r must be a positive integer, not ${rText}` };
  if (!Number.isSafeInteger(p) || p < 1)
    return { ok: false, reason: `scrypt p must be a positive integer, not ${pText}` };
  for (const [what, b64] of [
    ['salt', saltText],
    ['hash', hashText],
  ] as const) {
    if (!BASE64.test(b64)) return { ok: false, reason: `the ${what} is not base64` };
    if (Buffer.from(b64, 'base64').length < MIN_BYTES) {
      return { ok: false, reason: `the ${what} must be at least ${MIN_BYTES} bytes` };
    }
  }
  return {
    ok: true,
    value: { N, r, p, salt: Buffer.from(saltText, 'base64'), hash: Buffer.from(hashText, 'base64') },
  };
}

function derive(
  secret: string,
  salt: Buffer,
  length: number,
  { N, r, p }: Omit<SecretHash, 'salt' | 'hash'>,
) {
  return new Promise<Buffer>((resolve, reject) => {
    // Node refuses scrypt above maxmem (32 MiB by default); the need is 128·N·r bytes.
    scrypt(secret, salt, length, { N, r, p, maxmem: 256 * N * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Hashes a device secret into the `secretHash` format, with a fresh 16-byte salt. */
export async function hashSecret(
  secret: string,
  params: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, 32, params);
  return `scrypt:${params.N}:${params.r}:${params.p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

/** Whether `secret` matches a `secretHash`, compared in constant time. False for a malformed hash. */
export async function verifySecret(secret: string, secretHash: string): Promise<boolean> {
  const parsed = parseSecretHash(secretHash);
  if (!parsed.ok) return false;
  const key = await derive(secret, parsed.value.salt, parsed.value.hash.length, parsed.value);
  return timingSafeEqual(key, parsed.value.hash);
}
