/**
 * What the service knows of the local stack (`npm run stack`, scripts/stack/): the ports it
 * listens on, moved by TICKETPULSE_STACK_PORT_OFFSET, and so the default addresses of Kafka,
 * ClickHouse, Postgres and InfluxDB when their variables are unset. The stack's own settings
 * (its folder) are in scripts/stack/settings.ts.
 */
import { z } from 'zod';

/** Ports the local stack (`npm run stack -- up`) listens on with no offset; all on 127.0.0.1. */
const STACK_BASE_PORTS = {
  kafka: 19092,
  kafkaController: 19093,
  clickhouseHttp: 18123,
  clickhouseNative: 19000,
  postgres: 15432,
  influxdb: 18086,
  influxdbRpc: 18087,
} as const;

export type StackPorts = Record<keyof typeof STACK_BASE_PORTS, number>;

/**
 * The local stack's ports moved by `offset` (TICKETPULSE_STACK_PORT_OFFSET), so a second stack,
 * such as one the fault suite stops and kills, can run beside the shared one.
 */
export function stackPorts(offset: number): StackPorts {
  return movedPorts(STACK_BASE_PORTS, offset);
}

/** Every port of `base` plus `offset`. */
function movedPorts<T extends Record<string, number>>(base: T, offset: number): Record<keyof T, number> {
  return Object.fromEntries(Object.entries(base).map(([name, port]) => [name, port + offset])) as Record<
    keyof T,
    number
  >;
}

/**
 * TICKETPULSE_STACK_PORT_OFFSET: added to every port of the local stack and so to the defaults
 * of KAFKA_BROKERS, CLICKHOUSE_URL, DATABASE_URL and INFLUX_URL. At most 40,000, which keeps the highest
 * port (19093) valid.
 */
export const stackPortOffset = z.coerce.number().int().min(0).max(40_000).default(0);

/**
 * The cluster topology (`npm run stack -- up --topology cluster`): three Kafka brokers, one
 * ZooKeeper and ClickHouse as 2 shards × 2 replicas, on ports of their own so it can run beside
 * the single-node stack (Postgres and InfluxDB are the single-node ones). Moved by the same offset.
 */
const CLUSTER_BASE_PORTS = {
  /** Broker n (1-3) listens on kafka + n - 1, its controller on kafkaController + n - 1. */
  kafka: 19101,
  kafkaController: 19111,
  zookeeper: 12181,
  /** Replica n (1-4: s1r1, s1r2, s2r1, s2r2) adds n - 1 to each. */
  clickhouseHttp: 18131,
  clickhouseNative: 19031,
  clickhouseInterserver: 19041,
} as const;

export type ClusterPorts = Record<keyof typeof CLUSTER_BASE_PORTS, number>;

export function clusterPorts(offset: number): ClusterPorts {
  return movedPorts(CLUSTER_BASE_PORTS, offset);
}

/** The cluster's shape: brokers, and ClickHouse replicas by shard. */
export const CLUSTER_SHAPE = {
  brokers: 3,
  shards: 2,
  replicasPerShard: 2,
  /** The name in remote_servers, and CLICKHOUSE_CLUSTER for `ON CLUSTER` in migrations. */
  name: 'ticketpulse',
  /**
   * Every server as a shard of its own, CLICKHOUSE_SERVERS_CLUSTER: where the dedup horizon job
   * empties each server's sets and drops its partitions.
   */
  serversName: 'ticketpulse_servers',
} as const;

/** The service variables that point the service at the cluster topology's nodes. */
export function clusterServiceDefaults(ports: ClusterPorts, stack: StackPorts) {
  const brokers = Array.from({ length: CLUSTER_SHAPE.brokers }, (_, i) => `127.0.0.1:${ports.kafka + i}`);
  return {
    ...stackServiceDefaults(stack),
    KAFKA_BROKERS: brokers.join(','),
    CLICKHOUSE_URL: `http://127.0.0.1:${ports.clickhouseHttp}`,
    KAFKA_REPLICATION_FACTOR: String(CLUSTER_SHAPE.brokers),
    CLICKHOUSE_CLUSTER: CLUSTER_SHAPE.name,
    CLICKHOUSE_SERVERS_CLUSTER: CLUSTER_SHAPE.serversName,
    CLICKHOUSE_SHARDS: String(CLUSTER_SHAPE.shards),
  };
}

/** The service addresses of the local stack on these ports: the defaults when unset. */
export function stackServiceDefaults(ports: StackPorts) {
  return {
    KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    CLICKHOUSE_URL: `http://127.0.0.1:${ports.clickhouseHttp}`,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${ports.postgres}/ticketpulse`,
    INFLUX_URL: `http://127.0.0.1:${ports.influxdb}`,
  };
}
