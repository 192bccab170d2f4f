/** Creates the kafkajs client from validated settings. */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { kafkaBrokers, type Config } from '../config.js';

/** A Kafka client; producers, consumers and admins made from it must each be disconnected. */
export function createKafka(
  config: Pick<Config, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
  options: { connectionTimeout?: number; retries?: number } = {},
): Kafka {
  return new Kafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: kafkaBrokers(config),
    logLevel: logLevel.NOTHING,
    connectionTimeout: options.connectionTimeout ?? 3000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

/**
 * The producer for records someone is told are safe: one request in flight per broker (a retry
 * cannot overtake a later request to the same partition), never creating a topic by producing to
 * it (a missing topic is a deployment error, not something to paper over), and **not**
 * idempotent. kafkajs 2.2.4's idempotent producer loses acknowledged messages when partition
 * leaders move: when a request to a broker fails, even if only some of its partitions answered
 * NOT_LEADER and the others were written, it gives back the sequence numbers of all of them
 * (src/producer/sendMessages.js), and the next send to a written partition reuses its number;
 * the broker takes that batch for a retry of the written one, answers success with the old
 * offset and drops it. Every message here is one batch of one record, so the counts always
 * match. On the cluster topology a broker kill -9 under traffic lost 4 and 5 acknowledged sales
 * that way (npm run test:faults:cluster: not in Kafka, on no server). Without idempotence a
 * retry may write a message twice, which the streams' dedup by id absorbs (docs/ingest-api.md).
 * The ingest API, the poison skip and the ingest bench all send with these settings.
 */
export function ackedProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: false, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}
