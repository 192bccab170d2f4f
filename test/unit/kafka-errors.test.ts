// Kafka failures sorted by what a retry can do, on kafkajs's own error types as it throws them.
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { classifyKafkaError } from '../../src/kafka/kafka-errors.js';

const protocol = (type: string, code: number, retriable: boolean) =>
  new KafkaJSProtocolError({ type, code, retriable, message: type } as unknown as Error);

describe('classifyKafkaError', () => {
  it('finds a batch too large, however deep kafkajs wrapped it', () => {
    const tooLarge = protocol('MESSAGE_TOO_LARGE', 10, false);
    expect(classifyKafkaError(tooLarge)).toBe('too_large');
    expect(
      classifyKafkaError(new KafkaJSNumberOfRetriesExceeded(tooLarge, { retryCount: 2, retryTime: 10 })),
    ).toBe('too_large');
    expect(classifyKafkaError(protocol('RECORD_LIST_TOO_LARGE', 18, false))).toBe('too_large');
  });

  it('calls other non-retriable protocol errors permanent', () => {
    expect(classifyKafkaError(protocol('INVALID_RECORD', 87, false))).toBe('permanent');
  });

  it('calls connection errors, retriable protocol errors and unknown errors transient', () => {
    expect(classifyKafkaError(new KafkaJSConnectionError('Connection error: ECONNREFUSED'))).toBe(
      'transient',
    );
    expect(classifyKafkaError(protocol('NOT_LEADER_FOR_PARTITION', 6, true))).toBe('transient');
    expect(classifyKafkaError(new Error('anything'))).toBe('transient');
    expect(classifyKafkaError(undefined)).toBe('transient');
  });
});
