/**
 * The `api` role: the ingest route and the /v1 entity API (with `POST /v1/live/tokens`) on the
 * shared HTTP server, the acked producer behind them and the Kafka heartbeats. Stateless.
 */
import type { AppOptions } from '../api/app.js';
import { createIngestRateLimit } from '../api/ingest-rate-limit.js';
import { ackedProducer } from '../clients/kafka.js';
import { topicShards, type Config } from '../config.js';
import { createBlockHeartbeat } from '../kafka/block-heartbeat.js';
import { createConsumerLag } from '../kafka/consumer-lag.js';
import { createKafkaEventSink } from '../kafka/kafka-event-sink.js';
import { addInFlightGauge, addPipelineGauges } from '../metrics/metrics.js';
import type { RoleHandle, SharedClients } from './role.js';

export function createApiRole(config: Config, shared: SharedClients): RoleHandle {
  const { kafka, clickhouse, metrics, logger, db, queries, liveTokens } = shared;
  const { keys, showOwners } = shared.entities;
  const database = config.CLICKHOUSE_DATABASE;
  const producer = ackedProducer(kafka);
  const heartbeat =
    config.KAFKA_HEARTBEAT_MS > 0
      ? createBlockHeartbeat({
          producer: kafka.producer({ allowAutoTopicCreation: false }),
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
          logger,
          intervalMs: config.KAFKA_HEARTBEAT_MS,
          shards: topicShards(config),
        })
      : undefined;
  const kafkaAdmin = kafka.admin();
  addPipelineGauges({
    registry: metrics.registry,
    lag: createConsumerLag({ admin: kafkaAdmin, topicPrefix: config.KAFKA_TOPIC_PREFIX, database }),
    clickhouse,
    database,
  });
  const kafkaSink = createKafkaEventSink({
    producer,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    timeoutMs: config.INGEST_KAFKA_TIMEOUT_MS,
    onPublished: heartbeat?.noteEvents,
    maxInFlightBytes: config.INGEST_MAX_IN_FLIGHT_BYTES,
    shards: topicShards(config),
  });
  addInFlightGauge(metrics.registry, kafkaSink);
  const routes: Partial<AppOptions> = {
    ingest: {
      sink: shared.hooks.eventSink ?? kafkaSink,
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
