// The sink counts a batch as sent only when every partition it names was acknowledged: kafkajs
// 2.2.4 can resolve a send that skipped the partitions a failed broker led (kafkajs issue 1303).
// The fake below stands for that send; the cluster test shows the real one.
import type { RecordMetadata, TopicMessages } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { SinkUnavailableError } from '../../src/events/event-sink.js';
import { sendUntilAcknowledged } from '../../src/kafka/kafka-event-sink.js';

const batch: TopicMessages[] = [
  {
    topic: 'events.ticket_sale',
    messages: [0, 1, 2, 2].map((partition, i) => ({ partition, value: `m${i}` })),
  },
  { topic: 'events.rejected', messages: [{ partition: 0, value: 'q' }] },
];

function acks(sent: TopicMessages[], skip: (topic: string, partition: number) => boolean): RecordMetadata[] {
  return sent.flatMap((t) =>
    [...new Set(t.messages.map((m) => m.partition!))]
      .filter((partition) => !skip(t.topic, partition))
      .map((partition) => ({ topicName: t.topic, partition, errorCode: 0 })),
  );
}

describe('sendUntilAcknowledged', () => {
  it('sends once when every partition is acknowledged', async () => {
    const sends: TopicMessages[][] = [];
    await sendUntilAcknowledged(async (pending) => {
      sends.push(pending);
      return acks(pending, () => false);
    }, batch);
    expect(sends).toHaveLength(1);
  });

  it('sends again exactly the messages of the partitions a send resolved without', async () => {
    const sends: TopicMessages[][] = [];
    await sendUntilAcknowledged(async (pending) => {
      sends.push(pending);
      // The first send drops partition 2 of the sales topic, as kafkajs does when its leader failed.
      return acks(
        pending,
        (topic, partition) => sends.length === 1 && topic === 'events.ticket_sale' && partition === 2,
      );
    }, batch);
    expect(sends).toHaveLength(2);
    expect(sends[1]).toEqual([
      {
        topic: 'events.ticket_sale',
        messages: [
          { partition: 2, value: 'm2' },
          { partition: 2, value: 'm3' },
        ],
      },
    ]);
  });

  it('gives up with a retryable error (503) when a partition is never acknowledged', async () => {
    let count = 0;
    const failing = sendUntilAcknowledged(async (pending) => {
      count++;
      return acks(pending, (topic) => topic === 'events.rejected');
    }, batch);
    await expect(failing).rejects.toBeInstanceOf(SinkUnavailableError);
    await expect(failing).rejects.toThrow('events.rejected[0]');
    expect(count).toBe(5);
  });
});
