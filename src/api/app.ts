/** The HTTP application: routes and the error mapping, with every dependency passed in. */
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Probe } from '../health/probes.js';
import { createHealthRoute } from './health-route.js';
import { createIngestRoute, type IngestRouteOptions } from './ingest-route.js';
import { createErrorHandler, HttpError } from './http-error.js';
import { createEntityApi, type EntityApiOptions } from './v1/entity-api.js';

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
}

export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  app.route('/', createHealthRoute({ probes: options.probes, timeoutMs: options.healthTimeoutMs }));
  if (options.ingest) app.route('/', createIngestRoute(options.ingest));
  if (options.entities) app.route('/', createEntityApi(options.entities));
  const registry = options.metrics;
  if (registry) {
    app.get('/metrics', async function metrics(c) {
      c.header('Content-Type', registry.contentType);
      return c.body(await registry.metrics());
    });
  }
  app.notFound(function notFound(c) {
    throw new HttpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
  });
  app.onError(createErrorHandler(options.logger, { retryAfterSeconds: options.retryAfterSeconds }));
  return app;
}
