// Load shedding above the Kafka sink: a broker that stops acknowledging makes sends pile up
// (kafkajs queues them, and they outlive the 503 their deadline gave). Past the in-flight
// bound the API answers 503 `overloaded` at once instead of queueing more; once the broker
// settles the sends, requests are accepted again. The producer is a fake here: the logic under
// test is above it (test/integration/ingest-kafka-outage.integration.test.ts has the real one).
import type { Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafkaEventSink } from '../../src/kafka/kafka-event-sink.js';
import { ticketSale } from '../fixtures/events.js';
import { ingestApp } from '../fixtures/ingest-app.js';

const KEY = 'shedding-test-key';

function stuckProducer() {
  const pending: (() => void)[] = [];
  const producer = {
    events: { DISCONNECT: 'producer.disconnect' },
    on: () => () => undefined,
    connect: async () => undefined,
    // Settles as kafkajs does: one acknowledgement per partition sent to.
    sendBatch: (batch: ProducerBatch) =>
      new Promise<RecordMetadata[]>((resolve) =>
        pending.push(() =>
          resolve(
            (batch.topicMessages ?? []).flatMap((t) =>
              [...new Set(t.messages.map((m) => m.partition!))].map((partition) => ({
                topicName: t.topic,
                partition,
                errorCode: 0,
              })),
            ),
          ),
        ),
      ),
  } as unknown as Producer;
  return { producer, release: () => pending.splice(0).forEach((resolve) => resolve()), pending };
}

describe('ingest load shedding', () => {
  it('answers 503 overloaded once the bytes in flight to Kafka pass the bound, and recovers', async () => {
    const { producer, release, pending } = stuckProducer();
    const sink = createKafkaEventSink({ producer, topicPrefix: 't.', timeoutMs: 30, maxInFlightBytes: 3000 });
    const ingest = ingestApp(sink, KEY, { maxBodyBytes: 1 << 20, maxRecords: 100, retryAfterSeconds: 2 });
    const post = () => ingest.post(JSON.stringify([ticketSale(), ticketSale()]));

    const codes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await post();
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      codes.push(((await res.json()) as { error: { code: string } }).error.code);
    }
    // The first few waited for their deadline and were queued; the rest were shed at once.
    expect(codes.slice(0, 2)).toEqual(['kafka_unavailable', 'kafka_unavailable']);
    expect(codes.at(-1)).toBe('overloaded');
    expect(sink.inFlightBytes()).toBeLessThanOrEqual(3000);
    expect(pending.length).toBe(codes.filter((c) => c === 'kafka_unavailable').length);

    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.inFlightBytes()).toBe(0);
    const next = post();
    await new Promise((resolve) => setImmediate(resolve));
    release();
    expect((await next).status).toBe(202);
  });
});
