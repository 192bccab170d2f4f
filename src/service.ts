/**
 * The composition root of `npm start`: builds every client once from the configuration and
 * starts the roles this process is configured for (TICKETPULSE_ROLES):
 * - `api`: the HTTP API (ingest, the /v1 entity API with `POST /v1/live/tokens`, /healthz,
 *   /metrics) and the Kafka heartbeats; stateless, scale it out;
 * - `rules`: the fraud rules, the capacity alerts and the dedup horizon job, run by one leader
 *   at a time (a Postgres advisory lock; src/lifecycle/leader-election.ts);
 * - `bridge`: Postgres dimensions → ClickHouse, finished windows → InfluxDB (src/bridge);
 * - `push`: the live WebSocket `/v1/live` and the dashboard (src/push); stateless, scale it out
 *   (the live tokens `api` mints need the same LIVE_TOKEN_SECRET on every api and push process).
 * `api` and `push` share one HTTP server (HOST:PORT) in a process that runs both; /healthz and
 * /metrics are served by either. Each role has `start()` and `close()`; `close()` stops the
 * HTTP server first, then the roles in reverse order, then the clients. Each role is a module
 * of src/roles, `createXRole(config, shared)`; this file owns the shared clients and the order.
 */
import type { ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import { createApp, serveApp } from './api/app.js';
import { createLiveTokens } from './auth/live-tokens.js';
import { platformKeys } from './auth/platform-keys.js';
import { createClickHouse } from './clients/clickhouse.js';
import { createInflux } from './clients/influx.js';
import { createKafka } from './clients/kafka.js';
import { createPostgresPool } from './clients/postgres.js';
import type { Config } from './config.js';
import { createDb } from './db/schema.js';
import { createEntityServices } from './entities/entity-services.js';
import {
  clickHouseProbe,
  kafkaProbe,
  postgresProbe,
  redactUrl,
  runProbes,
  type Probe,
} from './health/probes.js';
import { schemaProbe } from './health/schema-probe.js';
import { createMetrics } from './metrics/metrics.js';
import { createApiRole } from './roles/api-role.js';
import { createBridgeRole } from './roles/bridge-role.js';
import { createPushRole } from './roles/push-role.js';
import type { RoleHandle, ServiceHooks, SharedClients } from './roles/role.js';
import { createRulesRole } from './roles/rules-role.js';
import { loadNamedQueries } from './sql/named-queries.js';

const QUERIES_DIR = new URL('../queries/', import.meta.url).pathname;

export type { RoleHandle } from './roles/role.js';
export { RULES_LEADER_LOCK } from './roles/rules-role.js';

/** The service cannot start yet, for a reason an operator fixes (e.g. run the migrations). */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

export function createService(config: Config, logger: Logger, hooks: ServiceHooks = {}) {
  const database = config.CLICKHOUSE_DATABASE;
  const roles = new Set(config.TICKETPULSE_ROLES);
  const clickhouse = createClickHouse(config);
  const kafka = createKafka(config, { retries: 2 });
  const pool = createPostgresPool(config, 10);
  const db = createDb(pool);
  // The mirror's client, when the bridge role runs the mirror.
  const influx =
    roles.has('bridge') && config.INFLUX_MIRROR_INTERVAL_MS > 0 ? createInflux(config) : undefined;
  const schema = schemaProbe({ pool, clickhouse, database });
  const entities = createEntityServices({
    db,
    connectionString: config.DATABASE_URL,
    logger,
    platformKeys: platformKeys(config),
    liveTokenTtlSeconds: config.LIVE_TOKEN_TTL_SECONDS,
  });
  // Minted by `api`, checked by `push`: one secret for both, and for every process of each.
  const liveTokens = createLiveTokens({
    secret: config.LIVE_TOKEN_SECRET,
    ttlSeconds: config.LIVE_TOKEN_TTL_SECONDS,
  });
  if (liveTokens.processSecret && !(roles.has('api') && roles.has('push'))) {
    logger.warn(
      { roles: [...roles] },
      'LIVE_TOKEN_SECRET is unset: live tokens this process mints or checks work with no other process; set one secret on every api and push process',
    );
  }
  const shared: SharedClients = {
    clickhouse,
    kafka,
    pool,
    db,
    metrics: createMetrics(),
    queries: loadNamedQueries(QUERIES_DIR),
    entities,
    liveTokens,
    influx,
    logger,
    hooks,
  };

  // Started in this order, closed in the reverse one.
  const bridge = roles.has('bridge') ? createBridgeRole(config, shared) : undefined;
  const handles: RoleHandle[] = [
    ...(bridge ? [bridge] : []),
    ...(roles.has('rules') ? [createRulesRole(config, shared)] : []),
    ...(roles.has('api') ? [createApiRole(config, shared)] : []),
    ...(roles.has('push') ? [createPushRole(config, shared)] : []),
  ];

  // What /healthz checks: the dependencies these roles use, through the same clients, and the
  // schema. Only the api role produces to Kafka; InfluxDB is optional (the mirror buffers).
  const probes: Probe[] = [
    ...(roles.has('api') ? [kafkaProbe(kafka, config.KAFKA_BROKERS)] : []),
    clickHouseProbe(clickhouse, redactUrl(config.CLICKHOUSE_URL)),
    postgresProbe(pool, redactUrl(config.DATABASE_URL)),
    ...(influx ? [influx.probe] : []),
    schema,
  ];

  // One HTTP server for the roles that serve something, with /healthz and /metrics.
  const served = handles.filter((h) => h.routes);
  const app =
    served.length === 0
      ? undefined
      : createApp({
          ...Object.assign({}, ...served.map((h) => h.routes)),
          metrics: shared.metrics.registry,
          logger,
          healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
          retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
          probes,
        });
  let server: ServerType | undefined;
  let port: number | undefined;

  return {
    roles: handles.map((h) => h.role),
    /** The HTTP app (hono) the api and push roles serve, for in-process `app.request()`; undefined without them. */
    app,
    /** Where the HTTP server listens once started (PORT 0 picks a free port), e.g. `http://127.0.0.1:8080`. */
    url(): string | undefined {
      return port === undefined ? undefined : `http://${config.HOST}:${port}`;
    },
    /** The bridge role when this process runs it (its dimension sync). */
    bridge,
    /** Connects the change feed, then starts each role (the bridge first: it resyncs). */
    async start(): Promise<void> {
      // Unmigrated, the roles cannot start (the key cache reads api_keys): refuse, in one line.
      // Once running, /healthz reports the schema too (503 while a migration is pending).
      const [state] = await runProbes([schema], config.HEALTH_TIMEOUT_MS);
      if (state?.status === 'down') throw new NotReadyError(`the schema is not migrated: ${state.error}`);
      await entities.start();
      for (const handle of handles) await handle.start();
      if (app) {
        const listening = await serveApp(app, config.HOST, config.PORT);
        server = listening.server;
        port = listening.port;
        logger.info({ address: `http://${config.HOST}:${listening.port}` }, 'ticketpulse listening');
      }
      logger.info({ roles: handles.map((h) => h.role) }, 'ticketpulse started');
    },
    async close(): Promise<void> {
      // Stop taking requests and let those in flight finish before the roles close.
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      for (const handle of [...handles].reverse()) {
        await handle
          .close()
          .catch((err: unknown) => logger.error({ err, role: handle.role }, 'role failed to close'));
      }
      await entities.close();
      await Promise.allSettled([clickhouse.close(), db.destroy()]);
    },
  };
}
