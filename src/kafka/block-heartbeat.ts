/**
 * Sends every topic ClickHouse reads a heartbeat record every `intervalMs`, so that a pause in
 * traffic never holds back the rows before it. ClickHouse 18.16's Kafka engine ends a pass only
 * between blocks, and when no message comes for 0.5 s it polls again several times before it
 * writes what it read (measured: the last sale before a pause counted ~2.4 s after its 202).
 * With a record at least every 250 ms the pass ends on time. Only topics that carried events
 * in the last `tailMs` get heartbeats: the rows before a pause are the ones that wait, and an
 * idle pipeline stays idle. The views drop heartbeat rows
 * (migrations/clickhouse/0011_constant_cost_dedup.sql); a lost heartbeat costs nothing.
 */
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { repeat } from '../lifecycle/repeat.js';
import { shardTopicNames } from './topology.js';

export interface BlockHeartbeatOptions {
  /** A producer of its own: heartbeats never wait behind, or delay, acknowledged events. */
  producer: Producer;
  topicPrefix: string;
  logger: Logger;
  /** Milliseconds between heartbeats (KAFKA_HEARTBEAT_MS); must stay under 500. */
  intervalMs: number;
  /** How long after a topic's last events it keeps getting heartbeats (default 2000 ms). */
  tailMs?: number;
  /** Shard topics per topic (config.ts topicShards; 0 on a single server): they get heartbeats too. */
  shards?: number;
}

export function createBlockHeartbeat(options: BlockHeartbeatOptions) {
  const { producer, logger } = options;
  // No arrays: ARRAY JOIN makes no event of it, and the quarantine view drops it by `heartbeat`
  // (migrations/clickhouse/0015_batch_messages.sql).
  const value = '{"heartbeat":1}';
  const tailMs = options.tailMs ?? 2000;
  const ours = new Set(Object.values(shardTopicNames(options.topicPrefix, options.shards ?? 0)).flat());
  /** Topic -> when events last went to it. */
  const lastEvents = new Map<string, number>();
  let connected = false;
  let failing = false;

  async function beat(): Promise<void> {
    const now = Date.now();
    const topicMessages = [...lastEvents]
      .filter(([, at]) => now - at <= tailMs)
      .map(([topic]) => ({ topic, messages: [{ value }] }));
    if (topicMessages.length === 0) return;
    try {
      if (!connected) {
        await producer.connect();
        connected = true;
      }
      await producer.sendBatch({ acks: 1, timeout: options.intervalMs * 4, topicMessages });
      if (failing) logger.info('Kafka heartbeats flow again');
      failing = false;
    } catch (err) {
      // Kafka down: the ingest path reports it (503); one line here, not one per beat.
      if (!failing) logger.warn({ err }, 'Kafka heartbeat failed; retrying every interval');
      failing = true;
    }
  }

  // beat() reports its own failures, once per outage.
  const beating = repeat({
    run: beat,
    intervalMs: options.intervalMs,
    firstDelayMs: 0,
    onError: () => undefined,
  });

  return {
    /** Notes that events went to these topics (the sink's `onPublished`). */
    noteEvents(topics: string[]): void {
      const now = Date.now();
      for (const topic of topics) if (ours.has(topic)) lastEvents.set(topic, now);
    },
    start: beating.start,
    async close(): Promise<void> {
      await beating.close();
      if (connected) await producer.disconnect();
    },
  };
}
