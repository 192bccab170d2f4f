// How a request's events become batch messages: the partition each event would have had as a
// keyed message of its own, request order within a partition, and messages cut by size.
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { COLUMNS } from '../../src/events/registry.js';
import { MAX_MESSAGE_CHARS, batchText, packEvents, partitionOf } from '../../src/events/topic-messages.js';
import { isAccepted, validateEvent, type AcceptedEvent } from '../../src/events/validate-event.js';
import { systemMetric, ticketSale } from '../fixtures/events.js';

const NOW = Date.now();
function accept(record: unknown): AcceptedEvent {
  const result = validateEvent(record, NOW);
  if (!isAccepted(result)) throw new Error(`rejected: ${JSON.stringify(result.errors)}`);
  return result;
}

describe('topic messages', () => {
  it("gives each key the partition kafkajs's default partitioner gives it as a keyed message", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const metadata = (partitions: number) =>
      Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        replicas: [1],
        isr: [1],
        offlineReplicas: [],
        partitionErrorCode: 0,
      }));
    // Keys of every length up to 40 (each tail of the 4-byte loop), non-ASCII and surrogate
    // pairs among them, and keys longer than the encoder's first buffer.
    const alphabet = ['a', 'Z', '0', '-', 'ü', 'ñ', '東', '😀', '\u0000', '~'];
    let seed = 20261207;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const generated = Array.from({ length: 2000 }, (_, i) =>
      Array.from({ length: i % 41 }, () => alphabet[next() % alphabet.length]).join(''),
    );
    const keys = ['user-1', 'user-2', 'ü-ñ', '', 'x'.repeat(300), '東'.repeat(200), ...generated];
    for (const partitions of [1, 6, 7, 12]) {
      for (const key of keys) {
        expect(partitionOf(key, partitions)).toBe(
          kafkajs({ topic: 't', partitionMetadata: metadata(partitions), message: { key, value: 'v' } }),
        );
      }
    }
  });

  it("is one object of column arrays whose i-th elements are the i-th event's row", () => {
    const events = [
      accept(
        ticketSale({}, { user_id: 'a', amount: '10.05', location: { country: 'DE', city: 'Köln "x"\n' } }),
      ),
      accept(ticketSale({}, { user_id: 'b', quantity: 4 })),
    ];
    const batch = JSON.parse(batchText(COLUMNS.ticket_sale, events)) as Record<string, unknown[]>;
    expect(Object.keys(batch)).toEqual(COLUMNS.ticket_sale);
    events.forEach((event, i) => {
      const row = Object.fromEntries(COLUMNS.ticket_sale.map((c) => [c, batch[c]![i]]));
      expect(row).toEqual(event.row);
    });
    const metric = accept(systemMetric({}, { tags: { host: 'a', region: 'eu' } }));
    const metrics = JSON.parse(batchText(COLUMNS.system_metric, [metric])) as Record<string, unknown[]>;
    expect(metrics.tag_keys).toEqual([['host', 'region']]);
    expect(metrics.tag_values).toEqual([['a', 'eu']]);
  });

  it('keeps one message per partition, in request order, and every event exactly once', () => {
    const events = Array.from({ length: 500 }, (_, i) =>
      accept(ticketSale({}, { user_id: `user-${i % 37}` })),
    );
    const messages = packEvents(COLUMNS.ticket_sale, events, 6);
    expect(new Set(messages.map((m) => m.partition)).size).toBe(messages.length);
    const ids: string[] = [];
    for (const message of messages) {
      const batch = JSON.parse(String(message.value)) as { id: string[]; user_id: string[] };
      batch.user_id.forEach((user) => expect(partitionOf(user, 6)).toBe(message.partition));
      const positions = batch.id.map((id) => events.findIndex((e) => e.id === id));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      ids.push(...batch.id);
    }
    expect(ids.sort()).toEqual(events.map((e) => e.id).sort());
  });

  it(`cuts a partition's events into messages of at most ${MAX_MESSAGE_CHARS} characters, in order`, () => {
    const events = Array.from({ length: 1500 }, (_, i) =>
      accept(
        ticketSale(
          {},
          { user_id: 'one-buyer', location: { country: 'DE', city: `c-${i}-${'x'.repeat(240)}` } },
        ),
      ),
    );
    const messages = packEvents(COLUMNS.ticket_sale, events, 6);
    expect(messages.length).toBeGreaterThan(2);
    expect(new Set(messages.map((m) => m.partition)).size).toBe(1);
    const ids = messages.flatMap((m) => {
      expect(String(m.value).length).toBeLessThan(MAX_MESSAGE_CHARS + 4096);
      return (JSON.parse(String(m.value)) as { id: string[] }).id;
    });
    expect(ids).toEqual(events.map((e) => e.id));
  });
});
