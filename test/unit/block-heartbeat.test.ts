// The block heartbeat's schedule: which topics get heartbeats, and when they stop.
import type { Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBlockHeartbeat } from '../../src/kafka/block-heartbeat.js';

function recordingProducer() {
  const beats: { topics: string[]; value: string }[] = [];
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    sendBatch: async ({
      topicMessages,
    }: {
      topicMessages: { topic: string; messages: { value: string }[] }[];
    }) => {
      beats.push({ topics: topicMessages.map((t) => t.topic), value: topicMessages[0]!.messages[0]!.value });
      return [];
    },
  } as unknown as Producer;
  return { producer, beats };
}

describe('block heartbeat', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const start = (producer: Producer) => {
    const heartbeat = createBlockHeartbeat({
      producer,
      topicPrefix: 'p.',
      logger: pino({ level: 'silent' }),
      intervalMs: 250,
      tailMs: 2000,
    });
    heartbeat.start();
    return heartbeat;
  };

  it('sends nothing while no topic carried events', async () => {
    const { producer, beats } = recordingProducer();
    const heartbeat = start(producer);
    await vi.advanceTimersByTimeAsync(5000);
    expect(beats).toEqual([]);
    await heartbeat.close();
  });

  it('beats every interval on the topics that carried events, until the tail has passed', async () => {
    const { producer, beats } = recordingProducer();
    const heartbeat = start(producer);
    heartbeat.noteEvents(['p.events.ticket_sale', 'p.events.rejected', 'other.topic']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(beats.length).toBeGreaterThanOrEqual(4);
    expect(beats.every((b) => b.topics.join() === 'p.events.ticket_sale,p.events.rejected')).toBe(true);
    expect(JSON.parse(beats[0]!.value)).toEqual({ heartbeat: 1 });

    await vi.advanceTimersByTimeAsync(1500); // 2.5 s after the events
    const sent = beats.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(beats.length).toBe(sent);
    await heartbeat.close();
  });
});
