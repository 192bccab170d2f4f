/**
 * `npm start`: the ticketpulse service process. Serves the HTTP API (`POST /v1/events`,
 * `GET /healthz`), sends the Kafka heartbeats, runs the fraud rules and the dedup horizon job,
 * and shuts down cleanly on SIGINT/SIGTERM.
 */
import { serve } from '@hono/node-server';
import { loadConfig } from './config.js';
import { createApp } from './api/app.js';
import { createClickHouse } from './clients/clickhouse.js';
import { createKafka } from './clients/kafka.js';
import { createConfiguredProbes } from './health/probes.js';
import { createLogger } from './logger.js';
import { createKafkaEventSink } from './events/kafka-event-sink.js';
import { createFraudRuleRunner } from './fraud/rule-runner.js';
import { createDedupHorizon } from './dedup/horizon-rotation.js';
import { createBlockHeartbeat } from './events/block-heartbeat.js';

const config = loadConfig();
const logger = createLogger(config);
const probes = createConfiguredProbes(config, config.HEALTH_TIMEOUT_MS);
const clickhouse = createClickHouse(config);
// Idempotent producer: broker-side dedup of its own retries; kafkajs needs one request in flight.
const kafka = createKafka(config, { retries: 2 });
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
heartbeat?.start();

const app = createApp({
  logger,
  healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
  probes: probes.all,
  ingest: {
    sink: createKafkaEventSink({
      producer,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      timeoutMs: config.INGEST_KAFKA_TIMEOUT_MS,
      onPublished: heartbeat?.noteEvents,
    }),
    apiKeys: config.INGEST_API_KEYS,
    maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
    maxRecords: config.INGEST_MAX_RECORDS,
    retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
  },
});

const fraudRules = createFraudRuleRunner({
  clickhouse,
  database: config.CLICKHOUSE_DATABASE,
  logger,
  intervalMs: config.FRAUD_RULES_INTERVAL_MS,
  lagMs: config.FRAUD_RULES_LAG_MS,
});
fraudRules.start();

const dedupHorizon = createDedupHorizon({
  clickhouse,
  database: config.CLICKHOUSE_DATABASE,
  logger,
  checkIntervalMs: config.DEDUP_CHECK_INTERVAL_MS,
});
dedupHorizon.start();

const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) => {
  logger.info({ address: `http://${info.address}:${info.port}` }, 'ticketpulse listening');
});

async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, 'shutting down');
  server.close();
  await Promise.allSettled([fraudRules.close(), dedupHorizon.close(), heartbeat?.close()]);
  await Promise.allSettled([producer.disconnect(), clickhouse.close(), probes.close()]);
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
