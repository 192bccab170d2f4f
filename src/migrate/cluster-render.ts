/**
 * The same migration files on a cluster (CLICKHOUSE_CLUSTER set): where each object lives, and
 * what its statement becomes. One rule, from the objects' roles rather than from per-file
 * markers, so the applied files stay as they are (they are checksummed):
 *
 * - **Stream objects** live per server, in the shard database `<database>_shard`: the Kafka
 *   tables, their Null/Set/TinyLog plumbing, every materialized view, and every table a
 *   materialized view writes to. Each server consumes its shard's topics
 *   (`<topic>.s<shard>`, the `{shard}` macro) in a consumer group of its own
 *   (`<group>_<replica>`), and dedups with its own sets, exactly as the single server does: the
 *   two replicas of a shard compute the same rows from the same messages, and a record retried
 *   after a rebalance or a replica's kill -9 meets the same sets it met before. No state moves
 *   between servers, so nothing about exactness changes (docs/development.md, "The cluster
 *   topology").
 * - **The analysts' database** (`<database>`) holds what the service and analysts read: for each
 *   stream table kept in a MergeTree, a Distributed table of the same name over the shards
 *   (one replica of each answers); every plain view, created from the same text, so that it
 *   reads those Distributed tables and merges aggregate states across shards; and the tables
 *   the service writes (dimensions, fraud rules and alerts, capacity events) as
 *   Replicated*MergeTree with one ZooKeeper path for the whole cluster, so that every server
 *   holds all of their rows and a write to any server reaches the others.
 *
 * A row of the streams is on exactly one shard because the API routes each record by its key
 * (src/kafka/topology.ts shardOf): a retried record goes to the same shard's topic, and so to the
 * same sets.
 */

import { createHash } from 'node:crypto';

export interface ClusterNames {
  /** The analysts' database: CLICKHOUSE_DATABASE. */
  database: string;
  /** The cluster in remote_servers: CLICKHOUSE_CLUSTER. */
  cluster: string;
}

/** The per-server database of the streams. */
export function shardDatabase(database: string): string {
  return `${database}_shard`;
}

/** Engines of stream plumbing: never read by analysts, never Distributed. */
const PLUMBING_ENGINES = new Set(['Kafka', 'Null', 'Set', 'TinyLog']);

type Statement =
  | { kind: 'create_table'; name: string; engine: string }
  | { kind: 'create_mv'; name: string; target: string }
  | { kind: 'create_view'; name: string }
  | { kind: 'insert'; name: string }
  | { kind: 'drop'; name: string };

/** What a migration statement is, read from its text (with `{database}` still in it). */
export function classifyStatement(sql: string): Statement {
  const text = sql.replace(/--[^\n]*/g, '');
  const name = (re: RegExp) => {
    const m = re.exec(text);
    if (m === null)
      throw new Error(`not a migration statement the cluster rendering knows: ${text.slice(0, 120)}`);
    return m[1]!;
  };
  if (/^\s*CREATE\s+MATERIALIZED\s+VIEW\b/i.test(text)) {
    return {
      kind: 'create_mv',
      name: name(/VIEW\s+IF\s+NOT\s+EXISTS\s+\{database\}\.(\w+)/i),
      target: name(/\bTO\s+\{database\}\.(\w+)/i),
    };
  }
  if (/^\s*CREATE\s+VIEW\b/i.test(text)) return { kind: 'create_view', name: name(/\{database\}\.(\w+)/) };
  if (/^\s*CREATE\s+TABLE\b/i.test(text)) {
    return { kind: 'create_table', name: name(/\{database\}\.(\w+)/), engine: name(/ENGINE\s*=\s*(\w+)/i) };
  }
  if (/^\s*INSERT\s+INTO\b/i.test(text)) return { kind: 'insert', name: name(/INTO\s+\{database\}\.(\w+)/i) };
  if (/^\s*DROP\s+TABLE\b/i.test(text)) return { kind: 'drop', name: name(/\{database\}\.(\w+)/) };
  throw new Error(`not a migration statement the cluster rendering knows: ${text.slice(0, 120)}`);
}

/** Every object's role, from all the files' statements (a later file may drop and re-create). */
export interface ObjectRoles {
  /** Stream tables with a MergeTree engine: per server, with a Distributed table for analysts. */
  streamStorage: Set<string>;
  /** Kafka/Null/Set/TinyLog tables and materialized views: per server only. */
  streamOnly: Set<string>;
  /** Tables the service writes: replicated across the cluster, in the analysts' database. */
  service: Set<string>;
  views: Set<string>;
}

export function objectRoles(statements: readonly string[]): ObjectRoles {
  const classified = statements.map(classifyStatement);
  const targets = new Set(classified.flatMap((s) => (s.kind === 'create_mv' ? [s.target] : [])));
  const roles: ObjectRoles = {
    streamStorage: new Set(),
    streamOnly: new Set(),
    service: new Set(),
    views: new Set(),
  };
  for (const s of classified) {
    if (s.kind === 'create_mv') roles.streamOnly.add(s.name);
    else if (s.kind === 'create_view') roles.views.add(s.name);
    else if (s.kind === 'create_table') {
      if (PLUMBING_ENGINES.has(s.engine)) roles.streamOnly.add(s.name);
      else if (targets.has(s.name)) roles.streamStorage.add(s.name);
      else roles.service.add(s.name);
    }
  }
  return roles;
}

/**
 * One statement (placeholders other than `{database}` and `{on_cluster}` already rendered) as
 * the statements to run on a cluster, each ON CLUSTER.
 */
export function renderForCluster(sql: string, roles: ObjectRoles, names: ClusterNames): string[] {
  const { database, cluster } = names;
  const shard = shardDatabase(database);
  const on = `ON CLUSTER ${cluster}`;
  const s = classifyStatement(sql);
  const inShard = (text: string) => text.replaceAll('{database}', shard).replaceAll('{on_cluster}', on);
  const inAnalysts = (text: string) => text.replaceAll('{database}', database).replaceAll('{on_cluster}', on);
  const distributed = (name: string) =>
    `CREATE TABLE IF NOT EXISTS ${database}.${name} ${on} AS ${shard}.${name} ENGINE = Distributed(${cluster}, ${shard}, ${name})`;
  switch (s.kind) {
    case 'create_mv':
      return [inShard(sql)];
    case 'create_view':
      return [inAnalysts(sql)];
    case 'create_table':
      if (roles.service.has(s.name)) return [replicated(inAnalysts(sql), s.name)];
      if (roles.streamStorage.has(s.name)) return [inShard(sql), distributed(s.name)];
      return [kafkaPerShard(inShard(sql))];
    case 'insert':
      // Backfills of stream tables read a populated single server's history; a cluster starts
      // empty, so they have nothing to copy. Seeds of service tables run once and replicate.
      return roles.service.has(s.name) ? [inAnalysts(sql)] : [inShard(sql)];
    case 'drop':
      if (roles.views.has(s.name) || roles.service.has(s.name)) return [inAnalysts(sql)];
      if (roles.streamStorage.has(s.name)) return [inAnalysts(sql), inShard(sql)];
      return [inShard(sql)];
  }
}

/**
 * `ENGINE = XMergeTree(args)` as its Replicated form, one replica per server of the cluster. The
 * ZooKeeper path ends with a hash of the statement: a file that drops a table and creates it with
 * other columns (0014 does) gets a path of its own, while running the same statement again finds
 * the same one.
 */
function replicated(sql: string, name: string): string {
  const database = /CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\./i.exec(sql)![1]!;
  const version = createHash('sha256').update(sql).digest('hex').slice(0, 12);
  return sql.replace(/ENGINE\s*=\s*(\w*MergeTree)(?:\(([^)]*)\))?/, (_, engine: string, args?: string) => {
    const path = `'/clickhouse/{cluster}/tables/all/${database}/${name}/${version}'`;
    const rest = args?.trim() ? `, ${args.trim()}` : '';
    return `ENGINE = Replicated${engine}(${path}, '{replica}'${rest})`;
  });
}

/** A Kafka table reads its shard's topic, in a consumer group of its own server. */
function kafkaPerShard(sql: string): string {
  if (!/ENGINE\s*=\s*Kafka\b/.test(sql)) return sql;
  return sql
    .replace(
      /(kafka_topic_list\s*=\s*')([^']+)'/,
      (_, head: string, topic: string) => `${head}${topic}.s{shard}'`,
    )
    .replace(
      /(kafka_group_name\s*=\s*')([^']+)'/,
      (_, head: string, group: string) => `${head}${group}_{replica}'`,
    );
}
