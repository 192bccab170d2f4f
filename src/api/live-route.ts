/**
 * `GET /v1/live`: the WebSocket of the push protocol (src/push/protocol.ts). Before the upgrade
 * it checks the key (`?key=`, browsers cannot set headers on a WebSocket; `read` scope) and the
 * Origin (the service's own, LIVE_ALLOWED_ORIGINS, or none for non-browser clients), answering
 * 401/403 like the rest of the API. After it, messages go to the hub (src/push/live-hub.ts).
 */
import { Hono } from 'hono';
import type { NodeWebSocket } from '@hono/node-ws';
import type { KeyStore } from '../auth/key-store.js';
import { hasScope, type Principal } from '../auth/principal.js';
import type { LiveHub } from '../push/live-hub.js';
import { HttpError } from './http-error.js';

export interface LiveRouteOptions {
  hub: LiveHub;
  keys: KeyStore;
  /** Origins besides the service's own whose pages may connect. */
  allowedOrigins: readonly string[];
  /** Largest client message in bytes; the connection closes (1009) above it. */
  maxMessageBytes: number;
}

/** Close code for a message over LIVE_MAX_MESSAGE_BYTES (RFC 6455: message too big). */
const CLOSE_TOO_BIG = 1009;

export function createLiveRoute(
  options: LiveRouteOptions,
  upgradeWebSocket: NodeWebSocket['upgradeWebSocket'],
): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  app.get(
    '/v1/live',
    async function liveCheck(c, next) {
      const origin = c.req.header('origin');
      if (origin !== undefined && !originAllowed(origin, c.req.header('host'), options.allowedOrigins)) {
        throw new HttpError(403, 'forbidden_origin', `origin '${origin}' may not open /v1/live`);
      }
      const key = c.req.query('key');
      const principal = key ? await options.keys.find(key) : undefined;
      if (!principal)
        throw new HttpError(
          401,
          'unauthorized',
          key ? 'the API key is not valid (unknown or revoked)' : 'missing ?key=',
        );
      if (!hasScope(principal, 'read'))
        throw new HttpError(403, 'forbidden', "this key lacks the 'read' scope");
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
        throw new HttpError(426, 'upgrade_required', '/v1/live is a WebSocket; see README "Live push"');
      c.set('principal', principal);
      await next();
    },
    upgradeWebSocket(function liveSocket(c) {
      const principal = c.get('principal');
      let connection: ReturnType<LiveHub['connect']> | undefined;
      return {
        onOpen(_event, ws) {
          connection = options.hub.connect(ws.raw!, principal);
        },
        onMessage(event, ws) {
          const data = event.data;
          const size = typeof data === 'string' ? Buffer.byteLength(data) : (data as ArrayBuffer).byteLength;
          if (size > options.maxMessageBytes) {
            ws.close(CLOSE_TOO_BIG, `messages are limited to ${options.maxMessageBytes} bytes`);
            return;
          }
          if (typeof data !== 'string') {
            ws.send(
              JSON.stringify({ type: 'error', sub: null, code: 'bad_message', message: 'send text frames' }),
            );
            return;
          }
          void connection?.receive(data);
        },
        onClose() {
          connection?.closed();
        },
      };
    }),
  );
  return app;
}

function originAllowed(origin: string, host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
