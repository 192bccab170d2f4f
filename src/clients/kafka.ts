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
 * The producer for records someone is told are safe: idempotent, so the broker drops its own
 * retries (kafkajs needs one request in flight for that), and never creating a topic by
 * producing to it (a missing topic is a deployment error, not something to paper over). The
 * ingest API, the poison skip and the ingest bench all send with these settings.
 */
export function ackedProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}
