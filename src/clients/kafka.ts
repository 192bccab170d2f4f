/** Creates the kafkajs client from validated settings. */
import { Kafka, logLevel } from 'kafkajs';
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
