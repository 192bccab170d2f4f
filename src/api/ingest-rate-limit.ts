/**
 * Per-key ingest rate limits, in records per second averaged over a window (so a burst of one
 * large request fits), with rate-limiter-flexible's in-memory counters: each API process limits
 * its own share (behind a load balancer spreading evenly, set the limit per process). Organizer
 * keys are limited (their own `ingest_records_per_second`, else the default); the environment's
 * platform keys are not. Over the limit: 429 with Retry-After; every answer carries the
 * RateLimit-Limit / -Remaining / -Reset headers.
 */
import type { Context } from 'hono';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../auth/principal.js';
import { HttpError } from './http-error.js';

export interface IngestRateLimitOptions {
  /** Records per second for an organizer key without its own limit. */
  defaultPerSecond: number;
  /** Seconds the limit is averaged over (default 10). */
  windowSeconds?: number;
}

export interface IngestRateLimit {
  /** Takes `records` from the principal's allowance, or throws 429; sets the RateLimit headers. */
  take(c: Context, principal: Principal, records: number): Promise<void>;
}

export function createIngestRateLimit(options: IngestRateLimitOptions): IngestRateLimit {
  const window = options.windowSeconds ?? 10;
  // One limiter per distinct limit; keys with the same limit share it (keyed by key id).
  const limiters = new Map<number, RateLimiterMemory>();
  const limiterFor = (perSecond: number) => {
    let limiter = limiters.get(perSecond);
    if (!limiter) {
      limiter = new RateLimiterMemory({ points: perSecond * window, duration: window });
      limiters.set(perSecond, limiter);
    }
    return limiter;
  };

  return {
    async take(c, principal, records) {
      if (principal.kind === 'platform' || records === 0) return;
      const perSecond = principal.ingestRecordsPerSecond ?? options.defaultPerSecond;
      const points = perSecond * window;
      const setHeaders = (res: RateLimiterRes) => {
        c.header('RateLimit-Limit', String(points));
        c.header('RateLimit-Remaining', String(Math.max(0, res.remainingPoints)));
        c.header('RateLimit-Reset', String(Math.ceil(res.msBeforeNext / 1000)));
      };
      if (records > points) {
        throw new HttpError(
          413,
          'over_rate_limit_window',
          `this key may send ${points} records per ${window} s; send at most that many in one request`,
        );
      }
      try {
        setHeaders(await limiterFor(perSecond).consume(principal.keyId, records));
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        setHeaders(err);
        const retryAfter = String(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
        throw new HttpError(
          429,
          'rate_limited',
          `this key may send ${perSecond} records per second (over ${window} s); nothing in this request was accepted`,
          undefined,
          { 'Retry-After': retryAfter },
        );
      }
    },
  };
}
