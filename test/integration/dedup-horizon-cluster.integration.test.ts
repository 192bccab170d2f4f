// The dedup horizon job on the cluster topology (`npm run stack -- up --topology cluster`), run
// by the real service's `rules` role with 20-second slots: each ClickHouse server dedups its
// shard's stream with sets of its own in `<database>_shard`, so the job must empty the next
// slot's sets on all four servers, and drop old daily partitions on all four. Asserts on what an
// operator sees on each server: a sale's id held by both replicas of its shard, in the set of
// its slot, until the job empties that set three slots later; old partitions gone everywhere,
// recent ones kept.
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackDirs } from '../../scripts/stack/service.js';
import { topologyEnv, topologyServices } from '../../scripts/stack/topology.js';
import { DEDUP_SETS, RETAINED_TABLES } from '../../src/dedup/horizon-rotation.js';
import { shardOf } from '../../src/kafka/topology.js';
import { shardDatabase } from '../../src/migrate/cluster-render.js';
import { uuid } from '../../src/sql/literals.js';
import { CLUSTER_SHAPE } from '../../src/local-stack.js';
import { ticketSale } from '../fixtures/events.js';
import { eventually } from './helpers.js';
import { clusterStack, onLocalStack } from './cluster-stack.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

const SLOT_SECONDS = 20;

interface Server {
  name: string;
  /** 0-based, as shardOf numbers shards. */
  shard: number;
  client: ClickHouseClient;
}

describe.skipIf(!onLocalStack)('the dedup horizon job on the cluster topology', () => {
  const dirs = stackDirs();
  const nodes = topologyServices('cluster', dirs).map((n) => n.service);
  const clusterEnv = Object.fromEntries(
    Object.entries(topologyEnv('cluster', dirs)).filter(([name]) => name !== 'DATABASE_URL'),
  );
  let wasRunning = false;
  let p: TestPipeline;
  let shard: string;
  const servers: Server[] = [];

  beforeAll(async () => {
    wasRunning = nodes.some((n) => n.kind === 'clickhouse' && n.pid() !== undefined);
    await clusterStack('up', '--quiet');
    p = await createTestPipeline('tp_clhz', {
      env: {
        ...clusterEnv,
        // The real rules role runs the job (its leader, with fraud and capacity runners beside it).
        TICKETPULSE_ROLES: 'api,bridge,rules',
        DEDUP_SLOT_SECONDS: String(SLOT_SECONDS),
        DEDUP_CHECK_INTERVAL_MS: '500',
        FRAUD_RULES_INTERVAL_MS: '5000',
        CAPACITY_ALERTS_INTERVAL_MS: '5000',
      },
    });
    shard = shardDatabase(p.database);
    for (const node of nodes.filter((n) => n.kind === 'clickhouse')) {
      const index = Number(/s(\d+)r\d+$/.exec(node.name)![1]) - 1;
      servers.push({
        name: node.name,
        shard: index,
        client: createClient({ url: `http://${node.address}` }),
      });
    }
    expect(servers).toHaveLength(CLUSTER_SHAPE.shards * CLUSTER_SHAPE.replicasPerShard);
  }, 600_000);

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.client.close()));
    await p?.close();
    // Leave the machine as it was: a cluster someone started keeps running.
    if (!wasRunning) await clusterStack('down');
  }, 600_000);

  async function rowsOn<T>(server: Server, query: string): Promise<T[]> {
    const result = await server.client.query({ query, format: 'JSONEachRow' });
    return result.json<T>();
  }

  async function serverSlot(): Promise<number> {
    const [row] = await rowsOn<{ now: number }>(servers[0]!, 'SELECT toUInt32(now()) AS now');
    return Math.floor(Number(row?.now) / SLOT_SECONDS);
  }

  /** For each id, the sets of `ticket_sales` on this server that hold it (`x IN set` probes the Set). */
  async function setsHolding(server: Server, ids: string[]): Promise<Map<string, number[]>> {
    const probes = Array.from(
      { length: DEDUP_SETS },
      (_, k) => `id IN ${shard}.ticket_sales_seen_${k} AS s${k}`,
    );
    const rows = await rowsOn<Record<string, number | string>>(
      server,
      `SELECT toString(id) AS key, ${probes.join(', ')}
       FROM (SELECT arrayJoin([${ids.map((id) => `toUUID(${uuid(id).text})`).join(', ')}]) AS id)`,
    );
    return new Map(
      rows.map((r) => [
        String(r.key),
        Array.from({ length: DEDUP_SETS }, (_, k) => k).filter((k) => Number(r[`s${k}`]) === 1),
      ]),
    );
  }

  /**
   * Sales of 16 buyers posted through the API and counted through the Distributed tables; each
   * with its shard (the API routes a sale to the shard of its buyer), both shards among them.
   */
  async function salesOnBothShards(show: string): Promise<{ id: string; shard: number }[]> {
    const sales = Array.from({ length: 16 }, (_, i) =>
      ticketSale({}, { event_id: show, user_id: `${show}-buyer-${i}` }),
    );
    const placed = sales.map((s) => ({ id: s.id, shard: shardOf(s.data.user_id, CLUSTER_SHAPE.shards) }));
    expect(new Set(placed.map((s) => s.shard)).size).toBe(CLUSTER_SHAPE.shards);
    expect((await p.post(sales)).status).toBe(202);
    await p.waitForSales(
      sales.map((s) => s.id),
      60_000,
    );
    return placed;
  }

  it('empties the next slot set on all four servers, three slots after the ids went in', async () => {
    const sales = await salesOnBothShards('show-horizon');
    const ids = (server: Server) => sales.filter((s) => s.shard === server.shard).map((s) => s.id);
    const others = (server: Server) => sales.filter((s) => s.shard !== server.shard).map((s) => s.id);

    // Each server holds its shard's ids, each in one set, and none of the other shard's.
    const home = new Map<string, { set: number; slot: number }>();
    for (const server of servers) {
      const held = await eventually(
        () => setsHolding(server, ids(server)),
        (m) => [...m.values()].every((sets) => sets.length === 1),
        30_000,
        100,
      );
      const slot = await serverSlot();
      for (const id of ids(server)) {
        const sets = held.get(id)!;
        expect(sets, `${server.name} ${id}`).toHaveLength(1);
        // The slot it went in: the latest up to now whose set is this one.
        const set = sets[0]!;
        const ingested = slot - ((slot - set + DEDUP_SETS) % DEDUP_SETS);
        home.set(`${server.name} ${id}`, { set, slot: ingested });
      }
      const foreign = await setsHolding(server, others(server));
      expect([...foreign.values()].flat(), server.name).toEqual([]);
    }

    // Poll every server until its ids are gone from every set, noting the slot each id left in.
    const emptiedIn = new Map<string, number>();
    const deadline = (DEDUP_SETS + 2) * SLOT_SECONDS * 1000;
    const remaining = await eventually(
      async () => {
        const slot = await serverSlot();
        for (const server of servers) {
          for (const [id, sets] of await setsHolding(server, ids(server))) {
            const key = `${server.name} ${id}`;
            if (sets.length === 0 && !emptiedIn.has(key)) emptiedIn.set(key, slot);
            // Emptied means emptied: an id is never back in a set once its set was emptied.
            if (sets.length > 0) expect(emptiedIn.has(key), key).toBe(false);
          }
        }
        return home.size - emptiedIn.size;
      },
      (n) => n === 0,
      deadline,
      250,
    );
    expect(remaining).toBe(0);
    for (const server of servers) {
      for (const id of ids(server)) {
        const key = `${server.name} ${id}`;
        // Emptied near the end of the ingest slot + 3 (or seen just after that slot ended): never earlier.
        const slots = emptiedIn.get(key)! - home.get(key)!.slot;
        expect(slots, key).toBeGreaterThanOrEqual(DEDUP_SETS - 1);
        expect(slots, key).toBeLessThanOrEqual(DEDUP_SETS);
      }
      expect([...(await setsHolding(server, ids(server))).values()].flat(), server.name).toEqual([]);
    }
  }, 300_000);

  it('drops old daily partitions of the retained tables on every server, and keeps recent ones', async () => {
    const partitions = (server: Server, table: string) =>
      rowsOn<{ partition_id: string; rows: string }>(
        server,
        `SELECT partition_id, toString(sum(rows)) AS rows FROM system.parts
         WHERE database = '${shard}' AND table = '${table}' AND active
         GROUP BY partition_id ORDER BY partition_id`,
      );
    // Recent rows on every server: today's sales, on both replicas of their shard.
    const sales = await salesOnBothShards('show-retention');
    for (const server of servers) {
      const mine = sales.filter((s) => s.shard === server.shard).map((s) => uuid(s.id).text);
      const count = () =>
        rowsOn<{ n: string }>(
          server,
          `SELECT toString(count()) AS n FROM ${shard}.sales_by_user WHERE id IN (${mine.join(', ')})`,
        ).then((r) => Number(r[0]?.n));
      expect(await eventually(count, (n) => n === mine.length, 30_000, 100), server.name).toBe(mine.length);
    }
    const recent = new Map<string, { partition_id: string; rows: string }[]>();
    for (const server of servers) {
      for (const { table } of RETAINED_TABLES) {
        const parts = await partitions(server, table);
        expect(parts.length, `${server.name} ${table}`).toBeGreaterThan(0);
        recent.set(`${server.name} ${table}`, parts);
      }
    }

    // Five days back on every server, and nine days back on one replica only (s2r2): a day the
    // other replica of its shard holds nothing of.
    const insertOld = async (server: Server, daysAgo: number) => {
      const at = `now() - ${daysAgo} * 86400`;
      await server.client.command({
        query: `INSERT INTO ${shard}.ticket_sales_ids (id, ingested_at, event_time, event_id)
                SELECT generateUUIDv4(), ${at}, ${at}, 'old' FROM system.numbers LIMIT 10`,
      });
      await server.client.command({
        query: `INSERT INTO ${shard}.sales_by_user (user_id, event_time, id)
                SELECT 'old-buyer', ${at}, generateUUIDv4() FROM system.numbers LIMIT 10`,
      });
    };
    for (const server of servers) await insertOld(server, 5);
    await insertOld(
      servers.find((s) => s.name === 'clickhouse-s2r2')!,
      9,
    );

    // The rules leader checks every 500 ms: every server ends with its recent partitions only,
    // none of their rows dropped.
    const ids = (parts: { partition_id: string }[]) => parts.map((part) => part.partition_id);
    for (const server of servers) {
      for (const { table } of RETAINED_TABLES) {
        const key = `${server.name} ${table}`;
        const before = recent.get(key)!;
        const seen = await eventually(
          () => partitions(server, table),
          (parts) => JSON.stringify(ids(parts)) === JSON.stringify(ids(before)),
          60_000,
          250,
        );
        expect(ids(seen), key).toEqual(ids(before));
        for (const [i, part] of seen.entries()) {
          expect(Number(part.rows), `${key} ${part.partition_id}`).toBeGreaterThanOrEqual(
            Number(before[i]!.rows),
          );
        }
      }
    }
  }, 180_000);
});
