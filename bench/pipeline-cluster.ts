/**
 * `npm run bench:pipeline -- --topology cluster [--shards 1,2] [--rates 4000,8000] [--minutes 3]
 * [--api 2] [--clients 2] [--batch 1000]`: the measured scale of the cluster topology
 * (`npm run stack -- up --topology cluster`: 3 brokers, ClickHouse 2 shards × 2 replicas).
 *
 * One database, migrated `ON CLUSTER` for 2 shards, so every server consumes its shard's topics.
 * For each `--shards` count the API processes are started with `CLICKHOUSE_SHARDS` = that count:
 * with 1 they send every record to shard 1's topics (both its replicas compute everything while
 * shard 2 idles), with 2 each record goes to its key's shard. Each rate then runs for `--minutes`
 * with the on-sale mix (1 sale : 10 interactions : 1 metric per request, each request its own
 * show), as the single-node run does. Per minute: events/s acknowledged, messages behind (the
 * slowest replica of each shard, over the three event topics), freshness p50/p95 (202 until the
 * request's sales are all in `sales_per_minute`, read through the Distributed tables), and CPU
 * microseconds per acknowledged event of every node, from /proc. A rate is kept up when every minute
 * acknowledged ≥ 95 % of it and the lag did not grow; fresh when, besides, every minute's
 * freshness p95 stayed ≤ 1 s.
 *
 * No dedup history is preloaded (the single-node run measures what history costs); the figures
 * compare shard counts on the same machine and the same cores, so read the per-node CPU, not
 * the totals, for what more machines would sustain.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { stackDirs } from '../scripts/stack/service.js';
import { topologyEnv, topologyServices } from '../scripts/stack/topology.js';
import {
  createScratchPostgres,
  createServiceProcess,
  freePort,
  runTsx,
  type ServiceProcess,
} from '../scripts/service-process.js';
import { createKafka } from '../src/clients/kafka.js';
import { loadConfig } from '../src/config.js';
import { consumerGroupOf, shardTopicNames, type TopicName } from '../src/kafka/topology.js';
import { EVENT_TYPES } from '../src/events/envelope.js';
import { shardDatabase } from '../src/migrate/cluster-render.js';
import { removeFromCluster } from '../test/harness/service-harness.js';
import { sustainedLoad } from './load-clients.js';
import { describeRun, fmtMs, median, percentile } from './machine.js';
import { procUsage } from './proc.js';

export interface ClusterBenchOptions {
  shards: number[];
  rates: number[];
  minutes: number;
  api: number;
  clients: number;
  batch: number;
}

const API_KEY = 'bench-cluster-key';
/** Every event topic (the quarantine aside), whether this run's mix sends to it or not. */
const EVENT_TOPICS: readonly TopicName[] = EVENT_TYPES;
const SHARDS = 2;
const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface MinuteRow {
  acked: number;
  behind: number;
  p95: number;
  /** CPU µs per acknowledged event, by node name (and `api`). */
  us: Record<string, number>;
}

export async function runClusterBench(opts: ClusterBenchOptions): Promise<void> {
  log(
    describeRun(
      `npm run bench:pipeline -- --topology cluster --shards ${opts.shards.join(',')} --rates ${opts.rates.join(',')} --minutes ${opts.minutes} --api ${opts.api} --clients ${opts.clients} --batch ${opts.batch}`,
    ),
  );
  const dirs = stackDirs();
  const nodes = topologyServices('cluster', dirs)
    .map((n) => n.service)
    .filter((s) => s.kind === 'kafka' || s.kind === 'clickhouse');
  const down = nodes.filter((s) => s.pid() === undefined).map((s) => s.name);
  if (down.length > 0)
    throw new Error(
      `the cluster is not running (${down.join(', ')}): npm run stack -- up --topology cluster`,
    );
  const database = `bench_cluster_${Date.now().toString(36)}`;
  const clusterEnv = topologyEnv('cluster', dirs);
  const config = loadConfig({
    ...process.env,
    ...clusterEnv,
    CLICKHOUSE_DATABASE: database,
    KAFKA_TOPIC_PREFIX: `${database}.`,
    CLICKHOUSE_SHARDS: String(SHARDS),
  });
  const postgres = await createScratchPostgres(config.DATABASE_URL, database);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...clusterEnv,
    DATABASE_URL: postgres.url,
    CLICKHOUSE_DATABASE: database,
    KAFKA_TOPIC_PREFIX: `${database}.`,
    CLICKHOUSE_SHARDS: String(SHARDS),
    INGEST_API_KEYS: `bench:${API_KEY}`,
    LOG_LEVEL: 'warn',
  };
  const clickhouse = createClient({ url: config.CLICKHOUSE_URL, request_timeout: 300_000 });
  const query = async <T>(sql: string): Promise<T[]> =>
    (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  const admin = createKafka(config).admin();
  const logDir = mkdtempSync(join(tmpdir(), 'ticketpulse-bench-cluster-'));
  const replicas = nodes.filter((s) => s.kind === 'clickhouse').map((s) => s.name.replace('clickhouse-', ''));

  /** Messages behind: per shard topic, its slowest replica's group; summed over topics and shards. */
  async function behind(): Promise<number> {
    let sum = 0;
    const topics = shardTopicNames(config.KAFKA_TOPIC_PREFIX, SHARDS);
    for (const kind of EVENT_TOPICS) {
      for (const [i, topic] of topics[kind].entries()) {
        const ends = await admin.fetchTopicOffsets(topic);
        let slowest = 0;
        for (const replica of replicas.filter((r) => r.startsWith(`s${i + 1}r`))) {
          const [committed] = await admin.fetchOffsets({
            groupId: `${consumerGroupOf(shardDatabase(database), kind)}_${replica}`,
            topics: [topic],
          });
          const lag = ends.reduce((s, end) => {
            const done = Number(
              committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1,
            );
            return s + Math.max(0, Number(end.high) - Math.max(0, done));
          }, 0);
          slowest = Math.max(slowest, lag);
        }
        sum += slowest;
      }
    }
    return sum;
  }

  async function runRate(apis: ServiceProcess[], shards: number, rate: number): Promise<MinuteRow[]> {
    const load = sustainedLoad({
      key: API_KEY,
      urls: apis.map((a) => a.baseUrl),
      rate,
      clients: opts.clients,
      minutes: opts.minutes,
      batch: opts.batch,
      mix: 'onsale',
      label: `s${shards}r${rate}`,
      query,
      database,
    });
    const { started, perMinute } = load;
    const cpuOf = (): Record<string, number> => ({
      ...Object.fromEntries(nodes.map((n) => [n.name, procUsage(n.pid()).cpuSeconds])),
      api: apis.reduce((sum, a) => sum + procUsage(a.pid()).cpuSeconds, 0),
    });
    const columns = ['api', ...nodes.map((n) => n.name)];
    log(
      `\n${shards} shard${shards > 1 ? 's' : ''}: ${rate.toLocaleString('en')} events/s offered (onsale), ${opts.batch} per request, ${opts.api} API processes, ${opts.clients} clients, ${opts.minutes} min`,
    );
    log(`minute | acked/s | behind | fresh p50 | fresh p95 | µs/event: ${columns.join(' | ')}`);
    let cpu = cpuOf();
    const rows: MinuteRow[] = [];
    for (let m = 0; m < opts.minutes; m++) {
      await sleep(Math.max(0, started + (m + 1) * 60_000 - Date.now()));
      const now = cpuOf();
      const minute = perMinute[m]!;
      const us = Object.fromEntries(
        columns.map((c) => [c, minute.acked > 0 ? ((now[c]! - cpu[c]!) * 1e6) / minute.acked : NaN]),
      );
      const row = {
        acked: minute.acked / 60,
        behind: await behind().catch(() => NaN),
        p95: percentile(minute.latencies, 95),
        us,
      };
      rows.push(row);
      log(
        [
          String(m + 1).padStart(6),
          row.acked.toFixed(0).padStart(7),
          String(row.behind).padStart(6),
          fmtMs(percentile(minute.latencies, 50)),
          fmtMs(row.p95),
          columns.map((c) => us[c]!.toFixed(1)).join(' | '),
        ].join(' | '),
      );
      cpu = now;
    }
    const failures = await load.done;
    if (failures > 0) log(`(${failures} requests failed or were not 202)`);
    return rows;
  }

  const results: { shards: number; rate: number; rows: MinuteRow[] }[] = [];
  try {
    log(`migrating ${database} on the cluster (${SHARDS} shards × 2 replicas)...`);
    runTsx('src/migrate/cli.ts', [], env);
    await admin.connect();
    for (const shards of opts.shards) {
      const apis: ServiceProcess[] = [];
      try {
        for (let i = 0; i < opts.api; i++) {
          const api = createServiceProcess(
            { ...env, CLICKHOUSE_SHARDS: String(shards), TICKETPULSE_ROLES: 'api' },
            await freePort(),
            join(logDir, `api-${shards}-${i}.log`),
          );
          await api.start();
          apis.push(api);
        }
        for (const rate of opts.rates)
          results.push({ shards, rate, rows: await runRate(apis, shards, rate) });
      } finally {
        for (const api of apis) await api.stop().catch(() => undefined);
      }
    }
  } finally {
    await removeFromCluster(config, clickhouse, admin);
    await admin.disconnect().catch(() => undefined);
    await clickhouse.close();
    await postgres.drop().catch(() => undefined);
  }

  // Kept up: every minute acknowledged ≥ 95 % of the rate and the lag did not grow by more than
  // one second of traffic. Fresh: kept up, and every minute's freshness p95 ≤ 1 s.
  const keptUp = (r: (typeof results)[number]) =>
    r.rows.every((m) => m.acked >= 0.95 * r.rate) &&
    !(r.rows.length > 1 && r.rows.at(-1)!.behind - r.rows[0]!.behind > r.rate);
  const fresh = (r: (typeof results)[number]) => keptUp(r) && r.rows.every((m) => m.p95 <= 1000);
  log('\nsummary (medians over the minutes)');
  log('shards | offered/s | acked/s | fresh p95 (worst minute) | kept up | fresh | µs/event per node');
  for (const r of results) {
    const us = Object.keys(r.rows[0]?.us ?? {})
      .map((c) => `${c} ${median(r.rows.map((m) => m.us[c]!)).toFixed(1)}`)
      .join(', ');
    log(
      `${r.shards} | ${r.rate} | ${median(r.rows.map((m) => m.acked)).toFixed(0)} | ${median(r.rows.map((m) => m.p95)).toFixed(0)} ms (${Math.max(...r.rows.map((m) => m.p95)).toFixed(0)} ms) | ${keptUp(r) ? 'yes' : 'no'} | ${fresh(r) ? 'yes' : 'no'} | ${us}`,
    );
  }
  const best = (shards: number, held: (r: (typeof results)[number]) => boolean) =>
    Math.max(0, ...results.filter((r) => r.shards === shards && held(r)).map((r) => r.rate));
  for (const shards of opts.shards)
    log(
      `${shards} shard(s): highest rate kept up ${best(shards, keptUp)}/s, highest with freshness p95 ≤ 1 s ${best(shards, fresh)}/s`,
    );
}
