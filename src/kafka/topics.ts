/** Creates the topics of the topology (src/kafka/topology.ts) that are missing: `npm run migrate`. */
import type { Admin } from 'kafkajs';
import { PARTITIONS, shardTopicNames, type TopicName } from './topology.js';

/** How long a new topic's partitions may take to get a leader (a busy single broker: about 1 s). */
const LEADERS_TIMEOUT_MS = 30_000;

/** Creates the topics (every shard's: `shards` from config.ts topicShards) that do not exist yet; returns the names it created. */
export async function ensureTopics(
  admin: Admin,
  prefix: string,
  replicationFactor = 1,
  shards = 0,
): Promise<string[]> {
  const names = shardTopicNames(prefix, shards);
  const existing = new Set(await admin.listTopics());
  const missing = (Object.keys(names) as TopicName[]).flatMap((kind) =>
    names[kind].filter((name) => !existing.has(name)).map((name) => ({ kind, name })),
  );
  if (missing.length === 0) return [];
  await admin.createTopics({
    // kafkajs's own wait retries only LEADER_NOT_AVAILABLE; a broker creating several topics at
    // once also answers UNKNOWN_TOPIC_OR_PARTITION for a moment (seen with test files migrating
    // side by side), so the wait is below.
    waitForLeaders: false,
    topics: missing.map((t) => ({
      topic: t.name,
      numPartitions: PARTITIONS[t.kind],
      replicationFactor,
      configEntries: [{ name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) }],
    })),
  });
  await waitForLeaders(
    admin,
    missing.map((t) => t.name),
  );
  return missing.map((t) => t.name);
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
