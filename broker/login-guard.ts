/**
 * The login guard the broker's authentication uses; it lives in core/login-guard.ts, since the
 * API's password sign-in is guarded by the same throttles.
 */
export * from '../core/login-guard.ts';
