/**
 * How far ClickHouse's Kafka tables are behind: per topic, the messages its consumer group has
 * not committed yet (log end minus committed offset, summed over partitions).
 */
import type { Admin } from 'kafkajs';
import { consumerGroupOf, topicNames, type TopicName } from './topology.js';

export interface ConsumerLagOptions {
  admin: Admin;
  topicPrefix: string;
  database: string;
}

export function createConsumerLag({ admin, topicPrefix, database }: ConsumerLagOptions) {
  const topics = topicNames(topicPrefix);
  // Connected on first use, again after a failure: Kafka may be down when the process starts.
  let connected: Promise<void> | undefined;
  const ensureConnected = () =>
    (connected ??= admin.connect().catch((err: unknown) => {
      connected = undefined;
      throw err;
    }));
  return {
    /** The ClickHouse consumer group that reads `topic`. */
    consumerGroup(topic: TopicName): string {
      return consumerGroupOf(database, topic);
    },
    /**
     * Messages of `topic` the group has not committed yet; Infinity while the broker cannot
     * say (right after a restart the group coordinator moves).
     */
    async messagesBehind(topic: TopicName): Promise<number> {
      return (await this.progress(topic))?.behind ?? Infinity;
    },
    /**
     * The group's committed offsets summed over partitions, and the messages behind them, also
     * per partition; undefined while the broker cannot say.
     */
    async progress(topic: TopicName): Promise<Progress | undefined> {
      const name = topics[topic];
      if (
        !(await ensureConnected().then(
          () => true,
          () => false,
        ))
      )
        return undefined;
      const ends = await admin.fetchTopicOffsets(name).catch(() => undefined);
      const [committed] =
        (await admin
          .fetchOffsets({ groupId: this.consumerGroup(topic), topics: [name] })
          .catch(() => undefined)) ?? [];
      if (ends === undefined) return undefined;
      const partitions = ends.map((end) => {
        const done = Math.max(
          0,
          Number(committed?.partitions.find((x) => x.partition === end.partition)?.offset ?? '-1'),
        );
        return { partition: end.partition, committed: done, behind: Math.max(0, Number(end.high) - done) };
      });
      return {
        committed: partitions.reduce((n, p) => n + p.committed, 0),
        behind: partitions.reduce((n, p) => n + p.behind, 0),
        partitions,
      };
    },
  };
}

export type ConsumerLag = ReturnType<typeof createConsumerLag>;

export interface Progress {
  committed: number;
  behind: number;
  partitions: { partition: number; committed: number; behind: number }[];
}
