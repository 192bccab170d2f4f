/** Bearer API-key middleware: 401 without a known key; sets `source` (the key's name). */
import type { MiddlewareHandler } from 'hono';
import { HttpError } from './http-error.js';

export type ApiKeyVariables = { source: string };

/** `keys` maps each key to its name, which is recorded with rejected events. */
export function apiKeyAuth(
  keys: ReadonlyMap<string, string>,
): MiddlewareHandler<{ Variables: ApiKeyVariables }> {
  return async function apiKeyAuth(c, next) {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const source = match?.[1] === undefined ? undefined : keys.get(match[1]);
    if (source === undefined) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new HttpError(
        401,
        'unauthorized',
        header ? 'the API key is not valid' : 'missing API key: send Authorization: Bearer <key>',
      );
    }
    c.set('source', source);
    await next();
  };
}
