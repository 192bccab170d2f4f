/**
 * The composition root of `npm start`: builds every client once from the configuration and
 * starts the roles this process is configured for (TICKETPULSE_ROLES):
 * - `api`: the HTTP API (ingest, the /v1 entity API, /healthz, /metrics) and the Kafka heartbeats;
 *   stateless, scale it out;
 * - `rules`: the fraud rules, the capacity alerts and the dedup horizon job, run by one leader
 *   at a time (a Postgres advisory lock; src/lifecycle/leader-election.ts);
 * - `bridge`: Postgres dimensions → ClickHouse (src/bridge).
 * Each role has `start()` and `close()`; `close()` stops them in reverse order, then the clients.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import { createApp } from './api/app.js';
import { createIngestRateLimit } from './api/ingest-rate-limit.js';
import { platformKeys } from './auth/platform-keys.js';
import { createCapacityAlertRunner } from './capacity/alert-runner.js';
import { createClickHouse } from './clients/clickhouse.js';
import { createKafka } from './clients/kafka.js';
import { createPostgresPool } from './clients/postgres.js';
import type { Config, Role } from './config.js';
import { createDb } from './db/schema.js';
import { createDedupHorizon } from './dedup/horizon-rotation.js';
import { createEntityServices } from './entities/entity-services.js';
import { createBlockHeartbeat } from './events/block-heartbeat.js';
import { createKafkaEventSink } from './events/kafka-event-sink.js';
import { createFraudRuleRunner } from './fraud/rule-runner.js';
import { clickHouseProbe, kafkaProbe, postgresProbe, redactUrl } from './health/probes.js';
import { createLeaderElection } from './lifecycle/leader-election.js';
import { addPipelineGauges, createMetrics } from './metrics/metrics.js';
import { createConsumerLag } from './events/consumer-lag.js';
import { loadNamedQueries } from './sql/named-queries.js';

const QUERIES_DIR = new URL('../queries/', import.meta.url).pathname;

/** Advisory lock key of the rules leader (any fixed number unlike the migrator's). */
export const RULES_LEADER_LOCK = 7_263_514_202;

/** A part of the service that a process may run. */
export interface RoleHandle {
  role: Role;
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
  const entities = createEntityServices({
    db,
    connectionString: config.DATABASE_URL,
    clickhouse,
    database,
    logger,
    platformKeys: platformKeys(config),
    bridge: roles.has('bridge'),
  });

  function apiRole(): RoleHandle {
    // Idempotent producer: broker-side dedup of its own retries; kafkajs needs one request in flight.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
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
    const app = createApp({
      metrics: metrics.registry,
      logger,
      healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
      retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
      // The same clients the roles use.
      probes: [
        kafkaProbe(kafka, config.KAFKA_BROKERS),
        clickHouseProbe(clickhouse, redactUrl(config.CLICKHOUSE_URL)),
        postgresProbe(pool, redactUrl(config.DATABASE_URL)),
      ],
      ingest: {
        sink: createKafkaEventSink({
          producer,
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
          timeoutMs: config.INGEST_KAFKA_TIMEOUT_MS,
          onPublished: heartbeat?.noteEvents,
        }),
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
        queries: loadNamedQueries(QUERIES_DIR),
        retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
      },
    });
    let server: ServerType | undefined;
    return {
      role: 'api',
      async start() {
        heartbeat?.start();
        await new Promise<void>((resolve) => {
          server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) => {
            logger.info({ address: `http://${info.address}:${info.port}` }, 'ticketpulse listening');
            resolve();
          });
        });
      },
      async close() {
        // Stop taking requests, let those in flight finish, then flush the producers.
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        await heartbeat?.close();
        await producer.disconnect();
        await kafkaAdmin.disconnect();
      },
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
    return {
      role: 'bridge',
      start: () => entities.bridge!.start(),
      close: () => entities.bridge!.close(),
    };
  }

  const handles: RoleHandle[] = [];
  if (roles.has('bridge')) handles.push(bridgeRole());
  if (roles.has('rules')) handles.push(rulesRole());
  if (roles.has('api')) handles.push(apiRole());

  return {
    roles: handles.map((h) => h.role),
    /** Connects the change feed, then starts each role (the bridge first: it resyncs). */
    async start(): Promise<void> {
      await entities.start();
      for (const handle of handles) await handle.start();
      logger.info({ roles: handles.map((h) => h.role) }, 'ticketpulse started');
    },
    async close(): Promise<void> {
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
