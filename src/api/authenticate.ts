/**
 * Bearer API-key middleware: 401 without a known key, 403 when the key lacks the scope.
 * Sets `principal` for the route (src/auth/principal.ts).
 */
import type { MiddlewareHandler } from 'hono';
import type { KeyStore } from '../auth/key-store.js';
import { hasScope, type Principal } from '../auth/principal.js';
import type { ApiKeyScope } from '../db/schema.js';
import { HttpError } from './http-error.js';

export type AuthVariables = { principal: Principal };

export function authenticate(
  keys: KeyStore,
  scope: ApiKeyScope,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function authenticate(c, next) {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = match?.[1] === undefined ? undefined : await keys.find(match[1]);
    if (principal === undefined) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new HttpError(
        401,
        'unauthorized',
        header
          ? 'the API key is not valid (unknown or revoked)'
          : 'missing API key: send Authorization: Bearer <key>',
      );
    }
    if (!hasScope(principal, scope)) {
      throw new HttpError(403, 'forbidden', `this key lacks the '${scope}' scope`);
    }
    c.set('principal', principal);
    await next();
  };
}
