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

/** How long a new topic's partitions may take to get a leader (a busy single broker: about 1 s). */
const LEADERS_TIMEOUT_MS = 30_000;

/** Creates the topics that do not exist yet; returns the names it created. */
export async function ensureTopics(admin: Admin, prefix: string, replicationFactor = 1): Promise<string[]> {
  const names = topicNames(prefix);
  const existing = new Set(await admin.listTopics());
  const missing = (Object.keys(names) as TopicName[]).filter((t) => !existing.has(names[t]));
  if (missing.length === 0) return [];
  await admin.createTopics({
    // kafkajs's own wait retries only LEADER_NOT_AVAILABLE; a broker creating several topics at
    // once also answers UNKNOWN_TOPIC_OR_PARTITION for a moment (seen with test files migrating
    // side by side), so the wait is below.
    waitForLeaders: false,
    topics: missing.map((t) => ({
      topic: names[t],
      numPartitions: PARTITIONS[t],
      replicationFactor,
      configEntries: [{ name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) }],
    })),
  });
  await waitForLeaders(
    admin,
    missing.map((t) => names[t]),
  );
  return missing.map((t) => names[t]);
}

/** Waits until every partition of `topics` has a leader, through the broker's transient answers. */
async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + LEADERS_TIMEOUT_MS;
  for (;;) {
    let waiting: string;
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      const leaderless = found.filter(
        (t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0),
      );
      if (leaderless.length === 0) return;
      waiting = `no leader yet for ${leaderless.map((t) => t.name).join(', ')}`;
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw err;
      waiting = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`topics created but not ready after ${LEADERS_TIMEOUT_MS} ms: ${waiting}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
