// Where each object of the migrations lives on a cluster (src/migrate/cluster-render.ts), checked
// over every file: the rule must place every statement, and place it where the design says.
import { describe, expect, it } from 'vitest';
import { statementRenderer } from '../../src/migrate/clickhouse-migrator.js';
import { readMigrationFiles } from '../../src/migrate/migration-files.js';

const files = readMigrationFiles(new URL('../../migrations/clickhouse/', import.meta.url).pathname);
const all = files.map((f) => f.sql);
const vars = {
  database: 'tp',
  cluster: 'ticketpulse',
  kafkaBrokers: 'broker:9092',
  topicPrefix: 'x.',
  cascadeMode: 'through_view' as const,
};
const render = statementRenderer(vars, all);
const rendered = files.flatMap((f) => render(f.sql));
const oneLine = (s: string) =>
  s
    .replace(/--[^\n]*/g, '')
    .replace(/\s+/g, ' ')
    .trim();

describe('the migrations on a cluster', () => {
  it('places every statement, DDL ON CLUSTER (an INSERT runs once), with no placeholder left', () => {
    expect(rendered.length).toBeGreaterThan(files.length);
    for (const statement of rendered) {
      if (/^\s*INSERT/.test(oneLine(statement))) expect(statement).not.toContain('ON CLUSTER');
      else expect(statement, oneLine(statement)).toContain('ON CLUSTER ticketpulse');
      expect(statement).not.toMatch(/\{(database|on_cluster|inserted:)/);
    }
  });

  it('keeps the streams per server: Kafka tables read their shard topic in a group of their own', () => {
    const kafka = rendered.filter((s) => /ENGINE\s*=\s*Kafka/.test(s)).map(oneLine);
    expect(kafka.length).toBeGreaterThan(0);
    for (const s of kafka) {
      expect(s).toMatch(/^CREATE TABLE IF NOT EXISTS tp_shard\./);
      expect(s).toMatch(/kafka_topic_list = 'x\.events\.\w+\.s\{shard\}'/);
      expect(s).toMatch(/kafka_group_name = 'tp_shard_\w+_\{replica\}'/);
    }
    for (const s of rendered.filter((s) => /CREATE MATERIALIZED VIEW/.test(s)).map(oneLine)) {
      expect(s).toMatch(
        /^CREATE MATERIALIZED VIEW IF NOT EXISTS tp_shard\.\w+ ON CLUSTER ticketpulse TO tp_shard\./,
      );
      expect(s).not.toMatch(/\btp\./);
    }
  });

  it('gives analysts every view, a Distributed table over each stream table, and replicated service tables', () => {
    const creates = rendered.map(oneLine).filter((s) => s.startsWith('CREATE'));
    for (const s of creates.filter((c) => c.startsWith('CREATE VIEW'))) {
      expect(s).toMatch(/^CREATE VIEW IF NOT EXISTS tp\./);
      expect(s).not.toMatch(/tp_shard\./);
    }
    expect(creates).toContain(
      'CREATE TABLE IF NOT EXISTS tp.sales_per_minute_agg ON CLUSTER ticketpulse AS tp_shard.sales_per_minute_agg ENGINE = Distributed(ticketpulse, tp_shard, sales_per_minute_agg)',
    );
    const dims = creates.filter((s) => /^CREATE TABLE IF NOT EXISTS tp\.dim_shows /.test(s));
    expect(dims).toHaveLength(2); // 0001's and 0014's, with paths of their own
    for (const s of dims) {
      expect(s).toMatch(
        /ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/\{cluster\}\/tables\/all\/tp\/dim_shows\/\w{12}', '\{replica\}', \w+\)/,
      );
    }
    expect(new Set(dims.map((s) => /tables\/all\/tp\/dim_shows\/(\w+)/.exec(s)![1])).size).toBe(2);
  });

  it('renders a single server exactly as before', () => {
    const single = { ...vars, cluster: '' };
    for (const f of files) {
      for (const statement of statementRenderer(single, all)(f.sql)) {
        expect(statement).not.toMatch(/ON CLUSTER|_shard|Distributed|Replicated/);
      }
    }
  });
});
