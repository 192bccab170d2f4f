/**
 * `GET /v1/live`: the WebSocket of the push protocol (src/push/protocol.ts). Before the upgrade
 * it checks the Origin (the service's own, LIVE_ALLOWED_ORIGINS, or none for non-browser
 * clients) and the credential in the handshake (src/api/live-credentials.ts), answering
 * 400/401/403 like the rest of the API. A handshake without one is upgraded and must send an
 * `auth` message first. After that, messages go to the hub (src/push/live-hub.ts); a
 * connection whose organizer key is revoked is closed (4001).
 */
import type { IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import type { NodeWebSocket } from '@hono/node-ws';
import type { WSContext } from 'hono/ws';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { KeyStore } from '../auth/key-store.js';
import { hasScope, type Principal } from '../auth/principal.js';
import type { LiveHub } from '../push/live-hub.js';
import { CLOSE_UNAUTHORIZED, clientMessage, PROTOCOL } from '../push/protocol.js';
import { HttpError } from './http-error.js';
import {
  checkLiveToken,
  KEY_IN_URL_DEPRECATED,
  liveCredential,
  type LiveCredential,
  type LiveTokenCheckDeps,
} from './live-credentials.js';

export interface LiveRouteOptions extends LiveTokenCheckDeps {
  hub: LiveHub;
  keys: KeyStore;
  logger: Logger;
  /** Origins besides the service's own whose pages may connect. */
  allowedOrigins: readonly string[];
  /** Largest client message in bytes; the connection closes (1009) above it. */
  maxMessageBytes: number;
  /** How long an upgraded connection without a credential may take to send `auth` (default 10 s). */
  authTimeoutMs?: number;
}

/** Close code for a message over LIVE_MAX_MESSAGE_BYTES (RFC 6455: message too big). */
const CLOSE_TOO_BIG = 1009;

type Socket = WSContext<WebSocket>;

type LiveEnv = { Variables: { principal: Principal | undefined }; Bindings: { incoming: IncomingMessage } };

export function createLiveRoute(options: LiveRouteOptions, ws: NodeWebSocket): Hono<LiveEnv> {
  const app = new Hono<LiveEnv>();
  const authTimeoutMs = options.authTimeoutMs ?? 10_000;
  // Answer with our protocol only, never with the token a client offered beside it.
  ws.wss.options.handleProtocols = (offered) => (offered.has(PROTOCOL) ? PROTOCOL : false);
  // Upgrades authenticated by ?key=: their 101 response says it is deprecated.
  const keyInUrl = new WeakSet<IncomingMessage>();
  ws.wss.on('headers', function deprecationHeader(headers, request) {
    if (keyInUrl.has(request)) headers.push(`Deprecation: ${KEY_IN_URL_DEPRECATED}`);
  });

  /** The principal of the handshake's credential, or undefined when an `auth` message must follow. */
  async function handshakePrincipal(credential: LiveCredential): Promise<Principal | undefined> {
    if (credential.kind === 'message') return undefined;
    if (credential.kind === 'token') {
      const result = await checkLiveToken(options, credential.token);
      if (!result.ok) throw new HttpError(401, 'unauthorized', result.message);
      return result.principal;
    }
    const principal = await options.keys.find(credential.key);
    if (!principal) throw new HttpError(401, 'unauthorized', 'the API key is not valid (unknown or revoked)');
    if (!hasScope(principal, 'read'))
      throw new HttpError(403, 'forbidden', "this key lacks the 'read' scope");
    return principal;
  }

  app.get(
    '/v1/live',
    async function liveCheck(c, next) {
      const origin = c.req.header('origin');
      if (origin !== undefined && !originAllowed(origin, c.req.header('host'), options.allowedOrigins)) {
        throw new HttpError(403, 'forbidden_origin', `origin '${origin}' may not open /v1/live`);
      }
      const credential = liveCredential(c.req.header('sec-websocket-protocol'), c.req.query('key'));
      const principal = await handshakePrincipal(credential);
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
        throw new HttpError(426, 'upgrade_required', '/v1/live is a WebSocket; see docs/live-protocol.md');
      if (credential.kind === 'key' && principal && c.env?.incoming) {
        keyInUrl.add(c.env.incoming);
        options.logger.warn(
          { principal: principal.kind === 'organizer' ? `key:${principal.keyId}` : principal.name },
          '/v1/live?key= is deprecated and goes in the next release: connect with a live token',
        );
      }
      c.set('principal', principal);
      await next();
    },
    ws.upgradeWebSocket(function liveSocket(c) {
      let connection: ReturnType<LiveHub['connect']> | undefined;
      let unwatch: (() => void) | undefined;
      let authTimer: NodeJS.Timeout | undefined;
      /** Messages that came while the `auth` message was being checked. */
      let waiting: string[] | undefined;
      let gone = false;

      function open(socket: Socket, principal: Principal): void {
        connection = options.hub.connect(socket.raw!, principal);
        if (principal.kind === 'organizer') {
          unwatch = options.revocations.watch(principal.keyId, function keyRevoked() {
            socket.close(CLOSE_UNAUTHORIZED, 'the API key was revoked');
            connection?.closed();
          });
        }
      }

      function authenticate(socket: Socket, text: string): void {
        let token: string | undefined;
        try {
          const message = clientMessage.safeParse(JSON.parse(text));
          if (message.success && message.data.type === 'auth') token = message.data.token;
        } catch {
          // not JSON: refused below
        }
        if (token === undefined) {
          socket.close(CLOSE_UNAUTHORIZED, 'authenticate first: send {"type":"auth","token":…}');
          return;
        }
        waiting = [];
        void checkLiveToken(options, token).then(function authChecked(result) {
          clearTimeout(authTimer);
          const queued = waiting ?? [];
          waiting = undefined;
          if (gone) return;
          if (!result.ok) return socket.close(CLOSE_UNAUTHORIZED, result.message);
          open(socket, result.principal);
          for (const message of queued) void connection?.receive(message);
        });
      }

      return {
        onOpen(_event, socket) {
          const principal = c.get('principal');
          if (principal) return open(socket, principal);
          authTimer = setTimeout(
            () => socket.close(CLOSE_UNAUTHORIZED, `no auth message within ${authTimeoutMs} ms`),
            authTimeoutMs,
          );
        },
        onMessage(event, socket) {
          const data = event.data;
          const size = typeof data === 'string' ? Buffer.byteLength(data) : (data as ArrayBuffer).byteLength;
          if (size > options.maxMessageBytes) {
            socket.close(CLOSE_TOO_BIG, `messages are limited to ${options.maxMessageBytes} bytes`);
            return;
          }
          if (typeof data !== 'string') {
            socket.send(
              JSON.stringify({ type: 'error', sub: null, code: 'bad_message', message: 'send text frames' }),
            );
            return;
          }
          if (connection) void connection.receive(data);
          else if (waiting) waiting.push(data);
          else authenticate(socket, data);
        },
        onClose() {
          gone = true;
          clearTimeout(authTimer);
          unwatch?.();
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
