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
 * HTTP server first, then the roles in reverse order, then the clients.
 */
import type { ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import { createApp, serveApp, type AppOptions } from './api/app.js';
import { createIngestRateLimit } from './api/ingest-rate-limit.js';
import { createLiveTokens } from './auth/live-tokens.js';
import { platformKeys } from './auth/platform-keys.js';
import { createCapacityAlertRunner } from './capacity/alert-runner.js';
import { createClickHouse } from './clients/clickhouse.js';
import { ackedProducer, createKafka } from './clients/kafka.js';
import { createPostgresPool } from './clients/postgres.js';
import type { Config, Role } from './config.js';
import { createDb } from './db/schema.js';
import { createDedupHorizon } from './dedup/horizon-rotation.js';
import { createEntityServices } from './entities/entity-services.js';
import { createBlockHeartbeat } from './events/block-heartbeat.js';
import { createKafkaEventSink } from './events/kafka-event-sink.js';
import { createFraudRuleRunner } from './fraud/rule-runner.js';
import {
  clickHouseProbe,
  kafkaProbe,
  postgresProbe,
  redactUrl,
  runProbes,
  type Probe,
} from './health/probes.js';
import { schemaProbe } from './health/schema-probe.js';
import { createLeaderElection } from './lifecycle/leader-election.js';
import { addInFlightGauge, addPipelineGauges, createMetrics } from './metrics/metrics.js';
import { createConsumerLag } from './events/consumer-lag.js';
import { loadNamedQueries } from './sql/named-queries.js';
import { createLiveHub } from './push/live-hub.js';
import { createInfluxMirror } from './bridge/influx-mirror.js';
import { createInflux } from './clients/influx.js';
import { feedCatalog } from './push/feeds.js';
import { createDashboardRoutes } from './dashboard/dashboard-routes.js';

const QUERIES_DIR = new URL('../queries/', import.meta.url).pathname;

/** Advisory lock key of the rules leader (any fixed number unlike the migrator's). */
export const RULES_LEADER_LOCK = 7_263_514_202;

/** The service cannot start yet, for a reason an operator fixes (e.g. run the migrations). */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/** A part of the service that a process may run. */
export interface RoleHandle {
  role: Role;
  /** What the role serves on the shared HTTP server, if anything. */
  routes?: Partial<AppOptions>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createService(config: Config, logger: Logger) {
  const database = config.CLICKHOUSE_DATABASE;
  const roles = new Set(config.TICKETPULSE_ROLES);
  const clickhouse = createClickHouse(config);
  const kafka = createKafka(config, { retries: 2 });
  const pool = createPostgresPool(config, 10);
  const db = createDb(pool);
  const metrics = createMetrics();
  const queries = loadNamedQueries(QUERIES_DIR);
  // The mirror's client, when the bridge role runs the mirror.
  const influx =
    roles.has('bridge') && config.INFLUX_MIRROR_INTERVAL_MS > 0 ? createInflux(config) : undefined;
  const schema = schemaProbe({ pool, clickhouse, database });
  const entities = createEntityServices({
    db,
    connectionString: config.DATABASE_URL,
    clickhouse,
    database,
    logger,
    platformKeys: platformKeys(config),
    liveTokenTtlSeconds: config.LIVE_TOKEN_TTL_SECONDS,
    bridge: roles.has('bridge'),
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

  function apiRole(): RoleHandle {
    const producer = ackedProducer(kafka);
    const heartbeat =
      config.KAFKA_HEARTBEAT_MS > 0
        ? createBlockHeartbeat({
            producer: kafka.producer({ allowAutoTopicCreation: false }),
            topicPrefix: config.KAFKA_TOPIC_PREFIX,
            logger,
            intervalMs: config.KAFKA_HEARTBEAT_MS,
          })
        : undefined;
    const { keys, showOwners } = entities;
    const kafkaAdmin = kafka.admin();
    addPipelineGauges({
      registry: metrics.registry,
      lag: createConsumerLag({ admin: kafkaAdmin, topicPrefix: config.KAFKA_TOPIC_PREFIX, database }),
      clickhouse,
      database,
    });
    const sink = createKafkaEventSink({
      producer,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      timeoutMs: config.INGEST_KAFKA_TIMEOUT_MS,
      onPublished: heartbeat?.noteEvents,
      maxInFlightBytes: config.INGEST_MAX_IN_FLIGHT_BYTES,
    });
    addInFlightGauge(metrics.registry, sink);
    const routes: Partial<AppOptions> = {
      ingest: {
        sink,
        keys,
        showOwners,
        metrics,
        rateLimit: createIngestRateLimit({ defaultPerSecond: config.INGEST_RATE_LIMIT_PER_SECOND }),
        maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
        maxRecords: config.INGEST_MAX_RECORDS,
        retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
      },
      entities: {
        db,
        keys,
        showOwners,
        clickhouse,
        database,
        queries,
        retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
        maxIngestRecords: config.INGEST_MAX_RECORDS,
        liveTokens,
      },
    };
    return {
      role: 'api',
      routes,
      async start() {
        heartbeat?.start();
      },
      async close() {
        await heartbeat?.close();
        await producer.disconnect();
        await kafkaAdmin.disconnect();
      },
    };
  }

  function pushRole(): RoleHandle {
    const hub = createLiveHub({
      clickhouse,
      database,
      feeds: feedCatalog(queries),
      showOwners: entities.showOwners,
      logger,
      pollIntervalMs: config.LIVE_POLL_INTERVAL_MS,
      heartbeatMs: config.LIVE_HEARTBEAT_MS,
      maxSubscriptions: config.LIVE_MAX_SUBSCRIPTIONS,
      maxPendingBytes: config.LIVE_MAX_PENDING_BYTES,
      maxFeedRows: config.LIVE_MAX_FEED_ROWS,
      registry: metrics.registry,
    });
    return {
      role: 'push',
      routes: {
        live: {
          hub,
          keys: entities.keys,
          tokens: liveTokens,
          revocations: entities.revocations,
          logger,
          allowedOrigins: config.LIVE_ALLOWED_ORIGINS,
          maxMessageBytes: config.LIVE_MAX_MESSAGE_BYTES,
        },
        routes: [createDashboardRoutes()],
      },
      async start() {
        hub.start();
      },
      close: () => hub.close(),
    };
  }

  function rulesRole(): RoleHandle {
    const election = createLeaderElection({
      pool,
      lockKey: RULES_LEADER_LOCK,
      logger,
      checkIntervalMs: config.LEADER_CHECK_INTERVAL_MS,
      lead: function startRules() {
        const jobs = [
          createFraudRuleRunner({
            clickhouse,
            database,
            logger,
            intervalMs: config.FRAUD_RULES_INTERVAL_MS,
            lagMs: config.FRAUD_RULES_LAG_MS,
          }),
          createCapacityAlertRunner({
            clickhouse,
            database,
            logger,
            intervalMs: config.CAPACITY_ALERTS_INTERVAL_MS,
          }),
          createDedupHorizon({
            clickhouse,
            database,
            logger,
            checkIntervalMs: config.DEDUP_CHECK_INTERVAL_MS,
          }),
        ];
        for (const job of jobs) job.start();
        return {
          async close() {
            await Promise.allSettled(jobs.map((job) => job.close()));
          },
        };
      },
    });
    return {
      role: 'rules',
      async start() {
        election.start();
      },
      close: () => election.close(),
    };
  }

  function bridgeRole(): RoleHandle {
    const mirror =
      influx !== undefined
        ? createInfluxMirror({
            clickhouse,
            database,
            influx,
            logger,
            intervalMs: config.INFLUX_MIRROR_INTERVAL_MS,
            bufferPoints: config.INFLUX_BUFFER_POINTS,
            registry: metrics.registry,
          })
        : undefined;
    return {
      role: 'bridge',
      async start() {
        await entities.bridge!.start();
        mirror?.start();
      },
      async close() {
        await mirror?.close();
        await entities.bridge!.close();
      },
    };
  }

  const handles: RoleHandle[] = [];
  if (roles.has('bridge')) handles.push(bridgeRole());
  if (roles.has('rules')) handles.push(rulesRole());
  if (roles.has('api')) handles.push(apiRole());
  if (roles.has('push')) handles.push(pushRole());

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
          metrics: metrics.registry,
          logger,
          healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
          retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
          probes,
        });
  let server: ServerType | undefined;

  return {
    roles: handles.map((h) => h.role),
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
