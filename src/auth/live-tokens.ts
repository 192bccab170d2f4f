/**
 * Short-lived live tokens: what `/v1/live` takes instead of a long-lived API key in the URL.
 * `POST /v1/live/tokens` mints one from a key with `read` scope; any process that holds the
 * secret checks it without Postgres. A token is an HS256 JWT with these claims:
 * - `aud`: `ticketpulse.live`, so it is good for nothing else;
 * - `sub`: `organizer:<organizer id>` or `platform:<key name>`;
 * - `key_id`: the organizer key's id, so revoking the key can end its tokens early
 *   (src/auth/key-revocations.ts); platform keys have none;
 * - `scope`: `read`, whatever else the key may do;
 * - `iat`, `exp`: minted at, and `ttlSeconds` later.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { sign, verify } from 'hono/jwt';
import type { Principal } from './principal.js';

export const LIVE_TOKEN_AUDIENCE = 'ticketpulse.live';
const ALG = 'HS256';

export interface LiveTokensOptions {
  /** The HMAC secret (LIVE_TOKEN_SECRET); undefined makes a random one that only this process knows. */
  secret: string | undefined;
  /** Lifetime of a token (LIVE_TOKEN_TTL_SECONDS). */
  ttlSeconds: number;
  /** Epoch milliseconds; tests move it. */
  now?: () => number;
}

export interface MintedToken {
  token: string;
  expiresAt: Date;
}

/** A token's principal, or why it is refused: expired, or not one of ours at all. */
export type TokenCheck = { ok: true; principal: Principal } | { ok: false; reason: 'expired' | 'invalid' };

export interface LiveTokens {
  mint(principal: Principal): Promise<MintedToken>;
  check(token: string): Promise<TokenCheck>;
  readonly ttlSeconds: number;
  /** True when no secret was configured: only this process accepts its tokens. */
  readonly processSecret: boolean;
}

const claims = z.object({
  aud: z.literal(LIVE_TOKEN_AUDIENCE),
  sub: z.string().regex(/^(organizer|platform):.+$/),
  key_id: z.string().min(1).optional(),
  scope: z.literal('read'),
  exp: z.number().int(),
});

export function createLiveTokens(options: LiveTokensOptions): LiveTokens {
  const secret = options.secret ?? randomBytes(32).toString('base64url');
  const now = options.now ?? Date.now;

  return {
    ttlSeconds: options.ttlSeconds,
    processSecret: options.secret === undefined,

    async mint(principal) {
      const iat = Math.floor(now() / 1000);
      const exp = iat + options.ttlSeconds;
      const subject =
        principal.kind === 'organizer'
          ? { sub: `organizer:${principal.organizerId}`, key_id: principal.keyId }
          : { sub: `platform:${principal.name}` };
      const token = await sign(
        { aud: LIVE_TOKEN_AUDIENCE, ...subject, scope: 'read', iat, exp },
        secret,
        ALG,
      );
      return { token, expiresAt: new Date(exp * 1000) };
    },

    async check(token) {
      let payload: unknown;
      try {
        // Expiry is checked below against `now`; iat is not checked, so a process whose clock
        // is a little behind the minting one still accepts a fresh token.
        payload = await verify(token, secret, { alg: ALG, exp: false, iat: false, nbf: false });
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      const parsed = claims.safeParse(payload);
      if (!parsed.success) return { ok: false, reason: 'invalid' };
      const { sub, key_id: keyId, exp } = parsed.data;
      if (exp * 1000 <= now()) return { ok: false, reason: 'expired' };
      const [kind, id] = [sub.slice(0, sub.indexOf(':')), sub.slice(sub.indexOf(':') + 1)];
      if (kind === 'platform') return { ok: true, principal: { kind, name: id, scopes: ['read'] } };
      if (keyId === undefined) return { ok: false, reason: 'invalid' };
      return { ok: true, principal: { kind: 'organizer', keyId, organizerId: id, scopes: ['read'] } };
    },
  };
}
