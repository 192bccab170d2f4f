/**
 * How a `/v1/live` client says who it is (docs/live-protocol.md), in order of preference:
 * - a live token offered as a subprotocol, `Sec-WebSocket-Protocol: ticketpulse.live.v1,
 *   token.<token>` (browsers can set this header, not others), checked before the upgrade;
 * - none in the handshake: a first message `{"type":"auth","token":…}` after it;
 * - `?key=<API key>`, deprecated (the key ends up in browser history and access logs).
 * One check for tokens either way: the signature and expiry (no Postgres), then the revocations
 * the change feed reported.
 */
import type { KeyRevocations } from '../auth/key-revocations.js';
import type { LiveTokens } from '../auth/live-tokens.js';
import type { Principal } from '../auth/principal.js';
import { PROTOCOL } from '../push/protocol.js';
import { HttpError } from './http-error.js';

/** A subprotocol starting with this carries a live token. */
export const TOKEN_PROTOCOL_PREFIX = 'token.';

/** When `?key=` was deprecated (RFC 9745 `Deprecation` header); it goes in the next release. */
export const KEY_IN_URL_DEPRECATED = '@1796256000'; // 2026-12-03

export type LiveCredential =
  | { kind: 'token'; token: string }
  | { kind: 'key'; key: string }
  /** Nothing in the handshake: the first message must authenticate. */
  | { kind: 'message' };

export interface LiveTokenCheckDeps {
  tokens: LiveTokens;
  revocations: KeyRevocations;
}

export type LiveTokenResult = { ok: true; principal: Principal } | { ok: false; message: string };

/**
 * The credential of an upgrade request, from its `Sec-WebSocket-Protocol` header and `?key=`.
 * A token offered without `ticketpulse.live.v1` is a 400: the server could not select a
 * protocol, and a browser would fail the connection.
 */
export function liveCredential(protocolHeader: string | undefined, key: string | undefined): LiveCredential {
  const offered = (protocolHeader ?? '').split(',').map((p) => p.trim());
  const token = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (token !== undefined) {
    if (!offered.includes(PROTOCOL))
      throw new HttpError(400, 'bad_request', `offer the subprotocol ${PROTOCOL} with the token`);
    return { kind: 'token', token: token.slice(TOKEN_PROTOCOL_PREFIX.length) };
  }
  if (key) return { kind: 'key', key };
  return { kind: 'message' };
}

/** A token's principal, unless it is not ours, expired, or its key was revoked. */
export async function checkLiveToken(deps: LiveTokenCheckDeps, token: string): Promise<LiveTokenResult> {
  const result = await deps.tokens.check(token);
  if (!result.ok) {
    return {
      ok: false,
      message:
        result.reason === 'expired'
          ? 'the live token has expired: mint a new one (POST /v1/live/tokens)'
          : 'the live token is not valid (malformed, or signed with another secret)',
    };
  }
  const { principal } = result;
  if (principal.kind === 'organizer' && deps.revocations.isRevoked(principal.keyId))
    return { ok: false, message: 'the API key of this live token was revoked' };
  return result;
}
