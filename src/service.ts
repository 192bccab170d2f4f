/**
 * The composition root of `npm start`: builds every client once from the configuration and
 * hands them to the parts of the service: the HTTP API (ingest and the /v1 entity API), the
 * Kafka heartbeats, the fraud rules, the capacity alerts, the dedup horizon job and the bridge
 * (Postgres dimensions → ClickHouse). `close()` stops them in reverse order.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import { createApp } from './api/app.js';
import { platformKeys } from './auth/platform-keys.js';
import { createCapacityAlertRunner } from './capacity/alert-runner.js';
import { createClickHouse } from './clients/clickhouse.js';
import { createKafka } from './clients/kafka.js';
import { createPostgresPool } from './clients/postgres.js';
import type { Config } from './config.js';
import { createDb } from './db/schema.js';
import { createDedupHorizon } from './dedup/horizon-rotation.js';
import { createBlockHeartbeat } from './events/block-heartbeat.js';
import { createKafkaEventSink } from './events/kafka-event-sink.js';
import { createFraudRuleRunner } from './fraud/rule-runner.js';
import { createEntityServices } from './entities/entity-services.js';
import { clickHouseProbe, kafkaProbe, postgresProbe, redactUrl } from './health/probes.js';
import { loadNamedQueries } from './sql/named-queries.js';

const QUERIES_DIR = new URL('../queries/', import.meta.url).pathname;

export function createService(config: Config, logger: Logger) {
  const database = config.CLICKHOUSE_DATABASE;
  const clickhouse = createClickHouse(config);
  // Idempotent producer: broker-side dedup of its own retries; kafkajs needs one request in flight.
  const kafka = createKafka(config, { retries: 2 });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  const pool = createPostgresPool(config, 10);
  const db = createDb(pool);
  const entities = createEntityServices({
    db,
    connectionString: config.DATABASE_URL,
    clickhouse,
    database,
    logger,
    platformKeys: platformKeys(config),
  });
  const { keys, showOwners } = entities;

  const heartbeat =
    config.KAFKA_HEARTBEAT_MS > 0
      ? createBlockHeartbeat({
          producer: kafka.producer({ allowAutoTopicCreation: false }),
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
          logger,
          intervalMs: config.KAFKA_HEARTBEAT_MS,
        })
      : undefined;

  const app = createApp({
    logger,
    healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
    retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
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

  const fraudRules = createFraudRuleRunner({
    clickhouse,
    database,
    logger,
    intervalMs: config.FRAUD_RULES_INTERVAL_MS,
    lagMs: config.FRAUD_RULES_LAG_MS,
  });
  const capacityAlerts = createCapacityAlertRunner({
    clickhouse,
    database,
    logger,
    intervalMs: config.CAPACITY_ALERTS_INTERVAL_MS,
  });
  const dedupHorizon = createDedupHorizon({
    clickhouse,
    database,
    logger,
    checkIntervalMs: config.DEDUP_CHECK_INTERVAL_MS,
  });

  let server: ServerType | undefined;

  return {
    app,
    /** Connects the change feed, syncs dimensions, starts the jobs, then listens. */
    async start(): Promise<void> {
      await entities.start();
      heartbeat?.start();
      fraudRules.start();
      capacityAlerts.start();
      dedupHorizon.start();
      await new Promise<void>((resolve) => {
        server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) => {
          logger.info({ address: `http://${info.address}:${info.port}` }, 'ticketpulse listening');
          resolve();
        });
      });
    },
    async close(): Promise<void> {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await Promise.allSettled([
        fraudRules.close(),
        capacityAlerts.close(),
        dedupHorizon.close(),
        heartbeat?.close(),
        entities.close(),
      ]);
      await Promise.allSettled([producer.disconnect(), clickhouse.close()]);
      await db.destroy();
    },
  };
}
