/** Kafka topic names and their settings; `npm run migrate` creates missing ones. */
import type { Admin } from 'kafkajs';
import type { EventType } from './envelope.js';

export type TopicName = EventType | 'rejected';

/** Topic per event type plus the quarantine, under an optional prefix (tests use their own). */
export function topicNames(prefix: string): Record<TopicName, string> {
  return {
    ticket_sale: `${prefix}events.ticket_sale`,
    user_interaction: `${prefix}events.user_interaction`,
    system_metric: `${prefix}events.system_metric`,
    rejected: `${prefix}events.rejected`,
  };
}

/**
 * Partitions of each topic, as `npm run migrate` creates them. The API packs a request's rows
 * into one message per partition (src/events/topic-messages.ts) and sends it to that partition
 * explicitly, so a topic must have at least this many; one created with more uses only these.
 */
export const PARTITIONS: Record<TopicName, number> = {
  ticket_sale: 6,
  user_interaction: 6,
  system_metric: 3,
  rejected: 1,
};

/** Creates the topics that do not exist yet; returns the names it created. */
export async function ensureTopics(admin: Admin, prefix: string, replicationFactor = 1): Promise<string[]> {
  const names = topicNames(prefix);
  const existing = new Set(await admin.listTopics());
  const missing = (Object.keys(names) as TopicName[]).filter((t) => !existing.has(names[t]));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({
      topic: names[t],
      numPartitions: PARTITIONS[t],
      replicationFactor,
      configEntries: [{ name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) }],
    })),
  });
  return missing.map((t) => names[t]);
}
