/**
 * `POST /v1/live/tokens`: exchanges a key with `read` scope for a short-lived live token, so a
 * browser opens `/v1/live` without the long-lived key in its URL (src/auth/live-tokens.ts).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { KeyStore } from '../../auth/key-store.js';
import type { LiveTokens } from '../../auth/live-tokens.js';
import { authenticate } from '../authenticate.js';
import { LiveToken } from './api-schemas.js';
import { errorResponses, type V1Env } from './openapi-app.js';

export interface LiveTokenRouteDeps {
  keys: KeyStore;
  liveTokens: LiveTokens;
}

export function addLiveTokenRoutes(app: OpenAPIHono<V1Env>, deps: LiveTokenRouteDeps): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/live/tokens',
      summary:
        "Mint a live token for GET /v1/live: the key's organizer, read only, valid LIVE_TOKEN_TTL_SECONDS",
      middleware: [authenticate(deps.keys, 'read')] as const,
      responses: {
        201: { description: 'minted', content: { 'application/json': { schema: LiveToken } } },
        ...errorResponses(401, 403, 503),
      },
    }),
    async function postLiveToken(c) {
      const { token, expiresAt } = await deps.liveTokens.mint(c.get('principal'));
      c.header('Cache-Control', 'no-store');
      return c.json(
        { token, expires_at: expiresAt.toISOString(), expires_in: deps.liveTokens.ttlSeconds },
        201,
      );
    },
  );
}
