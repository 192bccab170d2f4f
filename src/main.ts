/**
 * `npm start`: the ticketpulse service process. Serves the HTTP API (`POST /v1/events`,
 * `GET /healthz`), runs the fraud rules, and shuts down cleanly on SIGINT/SIGTERM.
 */
import { serve } from '@hono/node-server';
import { kafkaBrokers, loadConfig } from './config.js';
import { createApp } from './api/app.js';
import { createClickHouse } from './clients/clickhouse.js';
import { createKafka } from './clients/kafka.js';
import { createPostgresPool } from './clients/postgres.js';
import { clickHouseProbe, kafkaProbe, postgresProbe, redactUrl } from './health/probes.js';
import { createLogger } from './logger.js';
import { createKafkaEventSink } from './events/kafka-event-sink.js';
import { createFraudRuleRunner } from './fraud/rule-runner.js';

const config = loadConfig();
const logger = createLogger(config);
const kafka = createKafka(config, { retries: 0 });
const clickhouse = createClickHouse(config, { request_timeout: config.HEALTH_TIMEOUT_MS });
const pool = createPostgresPool(config);
// Idempotent producer: broker-side dedup of its own retries; kafkajs needs one request in flight.
const producer = createKafka(config, { retries: 2 }).producer({
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
});

const app = createApp({
  logger,
  healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
  probes: [
    kafkaProbe(kafka, kafkaBrokers(config).join(',')),
    clickHouseProbe(clickhouse, redactUrl(config.CLICKHOUSE_URL)),
    postgresProbe(pool, redactUrl(config.DATABASE_URL)),
  ],
  ingest: {
    sink: createKafkaEventSink({
      producer,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      timeoutMs: config.INGEST_KAFKA_TIMEOUT_MS,
    }),
    apiKeys: config.INGEST_API_KEYS,
    maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
    maxRecords: config.INGEST_MAX_RECORDS,
    retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
  },
});

const fraudRules = createFraudRuleRunner({
  clickhouse: createClickHouse(config),
  database: config.CLICKHOUSE_DATABASE,
  logger,
  intervalMs: config.FRAUD_RULES_INTERVAL_MS,
  lagMs: config.FRAUD_RULES_LAG_MS,
});
fraudRules.start();

const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) => {
  logger.info({ address: `http://${info.address}:${info.port}` }, 'ticketpulse listening');
});

async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, 'shutting down');
  server.close();
  await fraudRules.close();
  await Promise.allSettled([producer.disconnect(), clickhouse.close(), pool.end()]);
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
