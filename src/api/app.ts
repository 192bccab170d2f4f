/** The HTTP application: routes and the error mapping, with every dependency passed in. */
import { serve, type ServerType } from '@hono/node-server';
import { createNodeWebSocket, type NodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Probe } from '../health/probes.js';
import { createAllowedMethods } from './allowed-methods.js';
import { createHealthRoute } from './health-route.js';
import { createIngestRoute, type IngestRouteOptions } from './ingest-route.js';
import { createErrorHandler, HttpError } from './http-error.js';
import { createEntityApi, type EntityApiOptions } from './v1/entity-api.js';
import { createLiveRoute, type LiveRouteOptions } from './live-route.js';

export interface AppOptions {
  logger: Logger;
  probes: Probe[];
  healthTimeoutMs: number;
  /** `Retry-After` seconds when Postgres is unavailable. */
  retryAfterSeconds?: number;
  /** Mounts `POST /v1/events` when given. */
  ingest?: IngestRouteOptions;
  /** Mounts the entity API (organizers, keys, shows, queries, `/v1/openapi.json`) when given. */
  entities?: EntityApiOptions;
  /** Serves `GET /metrics` (Prometheus text format) from this registry when given. */
  metrics?: Registry;
  /** Mounts the push WebSocket `GET /v1/live` when given (the `push` role). */
  live?: LiveRouteOptions;
  /** Extra routes mounted as they are (the dashboard). */
  routes?: Hono[];
}

/** The WebSocket server of each app that has `/v1/live`, for `serveApp`. */
const webSockets = new WeakMap<Hono, NodeWebSocket>();

export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  if (options.metrics) {
    const responses = new Counter({
      name: 'ticketpulse_http_responses_total',
      help: 'HTTP responses by route and status class (2xx, 4xx, 5xx)',
      labelNames: ['route', 'status_class'],
      registers: [options.metrics],
    });
    app.use(async function countResponses(c, next) {
      await next();
      responses.inc({ route: c.req.routePath, status_class: `${Math.floor(c.res.status / 100)}xx` });
    });
  }
  app.route('/', createHealthRoute({ probes: options.probes, timeoutMs: options.healthTimeoutMs }));
  if (options.ingest) app.route('/', createIngestRoute(options.ingest));
  if (options.entities) app.route('/', createEntityApi(options.entities));
  if (options.live) {
    const ws = createNodeWebSocket({ app });
    ws.wss.options.maxPayload = options.live.maxMessageBytes + 1;
    webSockets.set(app, ws);
    app.route('/', createLiveRoute(options.live, ws));
  }
  for (const routes of options.routes ?? []) app.route('/', routes);
  const registry = options.metrics;
  if (registry) {
    app.get('/metrics', async function metrics(c) {
      c.header('Content-Type', registry.contentType);
      return c.body(await registry.metrics());
    });
  }
  const allowedMethods = createAllowedMethods(app);
  app.notFound(function notFound(c) {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length === 0) {
      throw new HttpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
    }
    const allow = [...allowed, 'OPTIONS'].join(', ');
    if (c.req.method === 'OPTIONS') {
      c.header('Allow', allow);
      return c.body(null, 204);
    }
    throw new HttpError(
      405,
      'method_not_allowed',
      `${c.req.path} does not take ${c.req.method}; it takes ${allowed.join(', ')}`,
      undefined,
      { Allow: allow },
    );
  });
  app.onError(createErrorHandler(options.logger, { retryAfterSeconds: options.retryAfterSeconds }));
  return app;
}

/** Serves an app over HTTP on `port` (0: any free port), with WebSocket upgrades when it has `/v1/live`. */
export function serveApp(
  app: Hono,
  hostname: string,
  port: number,
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname, port }, (info) =>
      resolve({ server, port: info.port }),
    );
    webSockets.get(app)?.injectWebSocket(server);
  });
}
