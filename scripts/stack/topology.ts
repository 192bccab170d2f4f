/**
 * The stack's two topologies and the nodes of each.
 *
 * - `single` (the default, what `npm run demo` and `npm test` use): one Kafka broker, one
 *   ClickHouse server, Postgres, InfluxDB.
 * - `cluster`: three Kafka brokers in KRaft mode (each broker+controller, one quorum; new topics
 *   replicated 3 times with min.insync.replicas 2), one ZooKeeper, ClickHouse as 2 shards × 2
 *   replicas (macros `{shard}`, `{replica}`, the cluster `ticketpulse` in remote_servers), and the
 *   single-node stack's Postgres and InfluxDB. Its nodes have folders and ports of their own
 *   (src/local-stack.ts), so it can run beside the single-node stack.
 */
import { join } from 'node:path';
import {
  CLUSTER_SHAPE,
  clusterPorts,
  clusterServiceDefaults,
  stackServiceDefaults,
} from '../../src/local-stack.js';
import { clickHouseNodeService, clickHouseService } from './clickhouse.js';
import { influxService } from './influxdb.js';
import { kafkaNodeService, kafkaService } from './kafka.js';
import { postgresService } from './postgres.js';
import { loadStackSettings } from './settings.js';
import type { StackDirs, StackService } from './service.js';
import { zookeeperService } from './zookeeper.js';

export const TOPOLOGIES = ['single', 'cluster'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

export function parseTopology(value: string): Topology {
  const found = TOPOLOGIES.find((t) => t === value);
  if (found === undefined) throw new Error(`unknown topology '${value}': single or cluster`);
  return found;
}

/** A node of a topology, in start order. */
export interface TopologyNode {
  /** Nodes of one group start together: a KRaft broker answers only once a majority of the quorum runs. */
  group: number;
  service: StackService;
  /**
   * The cluster uses the single-node stack's Postgres and InfluxDB: `up` starts them when they
   * are down, but `down` and `reset` of the cluster leave them alone.
   */
  shared: boolean;
}

export function topologyServices(topology: Topology, dirs: StackDirs): TopologyNode[] {
  if (topology === 'single') {
    return [kafkaService(dirs), clickHouseService(dirs), postgresService(dirs), influxService(dirs)].map(
      (service, group) => ({ group, service, shared: false }),
    );
  }
  const ports = clusterPorts(loadStackSettings().TICKETPULSE_STACK_PORT_OFFSET);
  const root = join(dirs.root, 'cluster');
  const voters = brokerIds()
    .map((id) => `${id}@127.0.0.1:${ports.kafkaController + id - 1}`)
    .join(',');
  const brokers = brokerIds().map((id) =>
    kafkaNodeService(dirs, {
      name: `kafka-${id}`,
      nodeId: id,
      port: ports.kafka + id - 1,
      controllerPort: ports.kafkaController + id - 1,
      voters,
      replication: CLUSTER_SHAPE.brokers,
      home: join(root, `kafka-${id}`),
      clusterIdFile: join(root, 'kafka-cluster-id'),
      heap: '512m',
    }),
  );
  const replicas = clickHouseReplicas().map((r) =>
    clickHouseNodeService(dirs, {
      name: `clickhouse-${r.replica}`,
      role: `shard ${r.shard} replica ${r.index}`,
      home: join(root, `clickhouse-${r.replica}`),
      httpPort: ports.clickhouseHttp + r.n,
      nativePort: ports.clickhouseNative + r.n,
      extraPorts: [ports.clickhouseInterserver + r.n],
      clusterConfig: clusterXml(r, ports),
    }),
  );
  return [
    { group: 0, service: zookeeperService(dirs, ports.zookeeper), shared: false },
    ...brokers.map((service) => ({ group: 1, service, shared: false })),
    ...replicas.map((service) => ({ group: 2, service, shared: false })),
    { group: 3, service: postgresService(dirs), shared: true },
    { group: 4, service: influxService(dirs), shared: true },
  ];
}

/** The service variables (KAFKA_BROKERS, CLICKHOUSE_URL, ...) that point at a topology's nodes. */
export function topologyEnv(topology: Topology, dirs: StackDirs): Record<string, string> {
  if (topology === 'single') return stackServiceDefaults(dirs.ports);
  return clusterServiceDefaults(clusterPorts(loadStackSettings().TICKETPULSE_STACK_PORT_OFFSET), dirs.ports);
}

function brokerIds(): number[] {
  return Array.from({ length: CLUSTER_SHAPE.brokers }, (_, i) => i + 1);
}

interface Replica {
  shard: number;
  /** 1-based within its shard. */
  index: number;
  /** 0-based over the cluster: the port offset. */
  n: number;
  /** The `{replica}` macro, e.g. s1r2. */
  replica: string;
}

function clickHouseReplicas(): Replica[] {
  const replicas: Replica[] = [];
  for (let shard = 1; shard <= CLUSTER_SHAPE.shards; shard++) {
    for (let index = 1; index <= CLUSTER_SHAPE.replicasPerShard; index++) {
      replicas.push({ shard, index, n: replicas.length, replica: `s${shard}r${index}` });
    }
  }
  return replicas;
}

/** A replica's own part of its config: interserver port, macros; and the cluster and ZooKeeper every replica shares. */
function clusterXml(self: Replica, ports: ReturnType<typeof clusterPorts>): string {
  const byShard = Array.from({ length: CLUSTER_SHAPE.shards }, (_, i) =>
    clickHouseReplicas().filter((r) => r.shard === i + 1),
  );
  const shards = byShard
    .map(
      (replicas) => `
            <shard>
                <internal_replication>true</internal_replication>${replicas
                  .map(
                    (r) => `
                <replica><host>127.0.0.1</host><port>${ports.clickhouseNative + r.n}</port></replica>`,
                  )
                  .join('')}
            </shard>`,
    )
    .join('');
  // Every server as a shard of its own: the dedup horizon job's ON CLUSTER statements reach each.
  const servers = clickHouseReplicas()
    .map(
      (r) => `
            <shard><replica><host>127.0.0.1</host><port>${ports.clickhouseNative + r.n}</port></replica></shard>`,
    )
    .join('');
  return `
    <!-- Cluster topology (scripts/stack/topology.ts): ${CLUSTER_SHAPE.shards} shards x ${CLUSTER_SHAPE.replicasPerShard} replicas. -->
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>${ports.clickhouseInterserver + self.n}</interserver_http_port>
    <macros>
        <cluster>${CLUSTER_SHAPE.name}</cluster>
        <shard>${self.shard}</shard>
        <replica>${self.replica}</replica>
    </macros>
    <zookeeper>
        <node><host>127.0.0.1</host><port>${ports.zookeeper}</port></node>
        <session_timeout_ms>30000</session_timeout_ms>
    </zookeeper>
    <distributed_ddl><path>/clickhouse/${CLUSTER_SHAPE.name}/task_queue/ddl</path></distributed_ddl>
    <remote_servers>
        <${CLUSTER_SHAPE.name}>${shards}
        </${CLUSTER_SHAPE.name}>
        <${CLUSTER_SHAPE.serversName}>${servers}
        </${CLUSTER_SHAPE.serversName}>
    </remote_servers>`;
}
