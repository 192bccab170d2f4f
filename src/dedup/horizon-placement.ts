/**
 * Where the dedup horizon job's work is, and how its statements reach every server that holds
 * it. Two kinds, as src/migrate/cluster-render.ts places the objects of 0011: on one server the
 * dedup sets and the retained tables are in the analysts' database; on a cluster each server
 * keeps its own in `<database>_shard` (its shard's stream, its own sets), so every statement
 * runs `ON CLUSTER` a cluster of every server, and the partitions are read from every server.
 */
import type { ClickHouseSettings } from '@clickhouse/client';
import { shardDatabase } from '../migrate/cluster-render.js';
import { str } from '../sql/literals.js';

export interface HorizonPlacement {
  /** Where the job runs: for its log lines. */
  where: string;
  /** The database of the dedup sets, their views and the retained tables on each server. */
  database: string;
  /**
   * A query that fails unless every server answers, run before the sets are emptied: a statement
   * ON CLUSTER waits for a server that is down and stays queued for it, to run whenever it starts
   * again, in whatever slot that is. Not emptying a set is safe (it keeps its ids a while
   * longer); emptying one late is not. None on one server: nothing is queued there.
   */
  everyServerAnswers?: string;
  /** Empties one table on every server that holds it. */
  truncate(table: string): string;
  /** Drops one partition (by id) of a table on every server; a server without it does nothing. */
  dropPartition(table: string, partitionId: string): string;
  /** A table expression of `system.parts` covering every server that holds the tables. */
  parts: string;
  /** Settings for the job's queries and statements. */
  settings: ClickHouseSettings;
}

/** The analysts' database of one server. */
export function singleServer(database: string): HorizonPlacement {
  return {
    where: `one server (${database})`,
    database,
    truncate: (table) => `TRUNCATE TABLE ${database}.${table}`,
    dropPartition: (table, id) => `ALTER TABLE ${database}.${table} DROP PARTITION ID ${str(id).text}`,
    parts: 'system.parts',
    settings: {},
  };
}

/**
 * Every server of the cluster, each with its own `<database>_shard`, reached through
 * `servers`: a cluster in remote_servers that lists every server as a shard of its own
 * (CLICKHOUSE_SERVERS_CLUSTER). Not the cluster of the migrations, whose shards have two replicas
 * each: 18.16 refuses `ALTER ... ON CLUSTER` of a table that is not replicated on a cluster whose
 * shards are (Code 371, "Table ids isn't replicated, but shard #2 is replicated according to its
 * cluster definition"; current ClickHouse's DDLWorker has the same check: read, not run), and `cluster()` reads one replica of
 * each shard.
 *
 * An ON CLUSTER statement waits for every server; `distributed_ddl_task_timeout` makes the server
 * answer (Code 159, naming how many hosts are unfinished) before the service client's 30 s
 * request timeout.
 */
export function clusterServers(database: string, servers: string): HorizonPlacement {
  const shard = shardDatabase(database);
  const on = `ON CLUSTER ${servers}`;
  return {
    where: `every server of cluster ${servers} (${shard})`,
    database: shard,
    everyServerAnswers: `SELECT count() FROM cluster('${servers}', system, one)`,
    truncate: (table) => `TRUNCATE TABLE ${shard}.${table} ${on}`,
    dropPartition: (table, id) => `ALTER TABLE ${shard}.${table} ${on} DROP PARTITION ID ${str(id).text}`,
    parts: `cluster('${servers}', system, parts)`,
    settings: { distributed_ddl_task_timeout: '20' },
  };
}

/**
 * The placement for CLICKHOUSE_DATABASE, CLICKHOUSE_CLUSTER (empty on one server) and
 * CLICKHOUSE_SERVERS_CLUSTER (needed with a cluster).
 */
export function horizonPlacement(database: string, cluster: string, servers: string): HorizonPlacement {
  if (!cluster) return singleServer(database);
  if (!servers)
    throw new Error(
      `the dedup horizon job on cluster ${cluster} needs CLICKHOUSE_SERVERS_CLUSTER: a cluster with every server as a shard of its own`,
    );
  return clusterServers(database, servers);
}
