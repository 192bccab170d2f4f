// The horizon job reads the slot length from the dedup views (src/dedup/set-ring.ts): from each
// view as the migrations render it, on one server and on a cluster, and as servers print it back.
import { describe, expect, it } from 'vitest';
import { slotSecondsOfView, slotViews } from '../../src/dedup/set-ring.js';
import { statementRenderer } from '../../src/migrate/clickhouse-migrator.js';
import { readMigrationFiles } from '../../src/migrate/migration-files.js';

const files = readMigrationFiles(new URL('../../migrations/clickhouse/', import.meta.url).pathname);
const all = files.map((f) => f.sql);

describe('slotSecondsOfView', () => {
  it.each([
    ['one server', ''],
    ['a cluster', 'ticketpulse'],
  ])('reads the length from every dedup view as rendered on %s', (_name, cluster) => {
    const render = statementRenderer(
      {
        database: 'tp',
        cluster,
        kafkaBrokers: 'broker:9092',
        topicPrefix: 'x.',
        dedupSlotSeconds: 1234,
        cascadeMode: 'through_view',
      },
      all,
    );
    const statements = files.flatMap((f) => render(f.sql));
    for (const view of slotViews()) {
      const create = statements.filter((s) =>
        new RegExp(`MATERIALIZED VIEW IF NOT EXISTS \\w+\\.${view} `).test(s),
      );
      expect(create, view).toHaveLength(1);
      expect(slotSecondsOfView(create[0]!), view).toBe(1234);
    }
  });

  it('finds the length as servers print the view back', () => {
    // system.tables.create_table_query of a 0011 view: on 18.16.1, and on chdb 26.9 (current ClickHouse).
    expect(
      slotSecondsOfView(
        'CREATE MATERIALIZED VIEW tp_shard.ticket_sales_seen_0_mv TO tp_shard.ticket_sales_seen_0 ( id UUID) AS SELECT id FROM tp_shard.ticket_sales_dedup_mv  WHERE (intDiv(toUInt32(now()), 20) % 4) = 0',
      ),
    ).toBe(20);
    expect(
      slotSecondsOfView(
        'CREATE MATERIALIZED VIEW d.seen_0_mv TO d.seen_0 (`id` UUID) AS SELECT id FROM d.src WHERE (intDiv(toUInt32(now()), 30000) % 4) = 0',
      ),
    ).toBe(30000);
  });

  it('finds none in a view without it', () => {
    expect(slotSecondsOfView('CREATE MATERIALIZED VIEW x.y TO x.z AS SELECT id FROM x.w')).toBeUndefined();
  });
});
