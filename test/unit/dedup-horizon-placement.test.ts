// Where the dedup horizon job works (src/dedup/horizon-placement.ts) must be where the migrations
// put the sets, their views and the retained tables (src/migrate/cluster-render.ts), on one
// server and on a cluster, and its statements must reach every server that holds them.
import { describe, expect, it } from 'vitest';
import { horizonPlacement } from '../../src/dedup/horizon-placement.js';
import { RETAINED_TABLES } from '../../src/dedup/horizon-rotation.js';
import { DEDUP_SETS, DEDUP_STREAMS, slotViews } from '../../src/dedup/set-ring.js';
import { statementRenderer } from '../../src/migrate/clickhouse-migrator.js';
import { readMigrationFiles } from '../../src/migrate/migration-files.js';

const files = readMigrationFiles(new URL('../../migrations/clickhouse/', import.meta.url).pathname);
const all = files.map((f) => f.sql);
const vars = {
  database: 'tp',
  kafkaBrokers: 'broker:9092',
  topicPrefix: 'x.',
  cascadeMode: 'through_view' as const,
};

/** Every statement of every file, rendered for a single server ('') or the cluster. */
function rendered(cluster: string): string[] {
  const render = statementRenderer({ ...vars, cluster }, all);
  return files
    .flatMap((f) => render(f.sql))
    .map((s) =>
      s
        .replace(/--[^\n]*/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
    );
}

const sets = DEDUP_STREAMS.flatMap((stream) =>
  Array.from({ length: DEDUP_SETS }, (_, k) => `${stream}_seen_${k}`),
);

describe.each([
  ['one server', ''],
  ['a cluster', 'ticketpulse'],
])('the horizon job on %s', (_name, cluster) => {
  const placement = horizonPlacement('tp', cluster, cluster && 'ticketpulse_servers');
  const statements = rendered(cluster);

  it('works where the migrations create the sets, their views and the retained tables', () => {
    for (const table of [...sets, ...RETAINED_TABLES.map((r) => r.table)]) {
      expect(statements, table).toContainEqual(
        expect.stringMatching(new RegExp(`^CREATE TABLE IF NOT EXISTS ${placement.database}\\.${table} `)),
      );
    }
    for (const view of slotViews()) {
      expect(statements, view).toContainEqual(
        expect.stringMatching(
          new RegExp(`^CREATE MATERIALIZED VIEW IF NOT EXISTS ${placement.database}\\.${view} `),
        ),
      );
    }
  });

  it(cluster ? 'reaches every server through the cluster of every server' : 'stays on the server', () => {
    const truncate = placement.truncate('ticket_sales_seen_2');
    const drop = placement.dropPartition('sales_by_user', '20261201');
    if (cluster) {
      expect(truncate).toBe('TRUNCATE TABLE tp_shard.ticket_sales_seen_2 ON CLUSTER ticketpulse_servers');
      expect(drop).toBe(
        "ALTER TABLE tp_shard.sales_by_user ON CLUSTER ticketpulse_servers DROP PARTITION ID '20261201'",
      );
      expect(placement.parts).toBe("cluster('ticketpulse_servers', system, parts)");
    } else {
      expect(truncate).toBe('TRUNCATE TABLE tp.ticket_sales_seen_2');
      expect(drop).toBe("ALTER TABLE tp.sales_by_user DROP PARTITION ID '20261201'");
      expect(placement.parts).toBe('system.parts');
      expect(placement.settings).toEqual({});
    }
  });
});

describe('horizonPlacement', () => {
  it('refuses a cluster without the cluster of every server', () => {
    expect(() => horizonPlacement('tp', 'ticketpulse', '')).toThrow(/CLICKHOUSE_SERVERS_CLUSTER/);
  });
});
