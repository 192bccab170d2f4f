/**
 * `npm run bench:pipeline -- [--rates 30000] [--minutes 10] [--mix onsale] [--batch 1000]
 * [--api 2] [--clients 2] [--burst 1000000] [--history 86400000] [--history-sales 8640000]`:
 * sustained throughput and a burst, end to end, against the broker's own producer benchmark.
 *
 * 1. Baseline: ProducerPerformance (the class behind kafka-producer-perf-test, same version as
 *    the broker) sends real sale rows, one record each, with the API's producer settings
 *    (acks=all, not idempotent, gzip) as fast as it can, on the same machine.
 * 2. The real service, isolated by its environment only (own ClickHouse database, topic prefix
 *    and Postgres database, migrated by `npm run migrate`): `--api` processes of `npm start`,
 *    the first with roles api and rules (the fraud rule runner), the others api only. Loaded
 *    with a day of dedup history (`--history` ids in the sales dedup sets) and a day of sales
 *    for the fraud rules (`--history-sales` rows), its partitions merged as a day of background
 *    merges would have left them; then one idle minute.
 * 3. Sustained: each rate (events/s) for `--minutes`, sent by `--clients` load-client processes
 *    (bench/load-client.ts) spreading requests of `--batch` events over the API processes in
 *    turn. `--mix onsale` is 1 sale : 10 interactions : 1 metric per request, each request its
 *    own show. Per minute: events/s acknowledged, messages behind (ClickHouse's consumer groups
 *    on the three event topics), freshness p50/p95 (202 until the request's sales are all in
 *    sales_per_minute), the fraud runner's lag, parts created per second and the merge backlog,
 *    CPU microseconds per acknowledged event of the API processes, the broker, ClickHouse and
 *    the load clients, from /proc, and the minute's biggest merge (system.merges every 2 s).
 * 4. Burst: `--burst` sales for one show, posted by two clients of 1,000 per request as fast as
 *    they can; printed per second: acknowledged, counted in sales_per_minute, messages behind;
 *    then how long after the last 202 every acknowledged sale was counted.
 *
 * `--topology cluster` measures the cluster topology instead, 1 shard against 2 (see
 * bench/pipeline-cluster.ts).
 *
 * Needs ClickHouse and the broker on this machine (`npm run stack -- up`): it finds their pids by
 * the ports they listen on (bench/proc.ts) and reads their CPU and memory from /proc.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { Command } from 'commander';
import { createClickHouse } from '../src/clients/clickhouse.js';
import { createKafka } from '../src/clients/kafka.js';
import { kafkaBrokers, loadConfig } from '../src/config.js';
import { createConsumerLag } from '../src/kafka/consumer-lag.js';
import type { TopicName } from '../src/kafka/topology.js';
import { EVENT_TYPES } from '../src/events/envelope.js';
import { validateEvent, isAccepted } from '../src/events/validate-event.js';
import { stackDirs } from '../scripts/stack/service.js';
import {
  createScratchPostgres,
  createServiceProcess,
  freePort,
  runTsx,
  type ServiceProcess,
} from '../scripts/service-process.js';
import { loadDedupHistory } from './dedup-history.js';
import { describeRun, fmtMs, median, percentile } from './machine.js';
import { cpuSecondsOf, pidListeningOn, procUsage } from './proc.js';
import { loadClient, sustainedLoad } from './load-clients.js';
import { runClusterBench } from './pipeline-cluster.js';
import { taggedEvents } from './tagged-events.js';
import { removeClickHouseAndTopics } from '../test/harness/service-harness.js';

const opts = new Command('bench:pipeline')
  .option('--rates <list>', 'events per second, comma-separated', '30000')
  .option('--minutes <n>', 'minutes per rate', Number, 10)
  .option('--mix <mix>', 'onsale (1 sale : 10 interactions : 1 metric) or sales', 'onsale')
  .option('--batch <n>', 'events per request', Number, 1000)
  .option('--api <n>', 'API processes (npm start)', Number, 2)
  .option('--clients <n>', 'load client processes for the sustained rates', Number, 2)
  .option('--burst <sales>', 'sales of the burst (0: no burst)', Number, 1_000_000)
  .option('--history <ids>', 'ids preloaded into the sales dedup sets', Number, 86_400_000)
  .option('--history-sales <rows>', 'sales preloaded for the fraud rules', Number, 8_640_000)
  .option('--baseline-records <n>', 'records sent by ProducerPerformance', Number, 2_000_000)
  .option('--topology <topology>', 'single, or cluster (bench/pipeline-cluster.ts)', 'single')
  .option('--shards <list>', 'cluster: shard counts to compare, comma-separated', '1,2')
  .parse()
  .opts<{
    rates: string;
    minutes: number;
    mix: string;
    batch: number;
    api: number;
    clients: number;
    burst: number;
    history: number;
    historySales: number;
    baselineRecords: number;
    topology: string;
    shards: string;
  }>();
const rates = opts.rates.split(',').map(Number);
if (opts.topology === 'cluster') {
  await runClusterBench({
    shards: opts.shards.split(',').map(Number),
    rates,
    minutes: opts.minutes,
    api: opts.api,
    clients: opts.clients,
    batch: opts.batch,
  });
  process.exit(0);
}

const config = loadConfig();
const dirs = stackDirs();
// ClickHouse and the broker by the ports they listen on, for their CPU and memory from /proc.
const clickhousePid = pidListeningOn(Number(new URL(config.CLICKHOUSE_URL).port));
const brokerPid = pidListeningOn(Number(kafkaBrokers(config)[0]!.split(':').at(-1)));
if (clickhousePid === undefined || brokerPid === undefined)
  throw new Error('bench:pipeline needs ClickHouse and Kafka running on this machine: npm run stack -- up');
const API_KEY = 'bench-pipeline-key';
const POM = new URL('./kafka-tools/pom.xml', import.meta.url).pathname;
const RULES = new URL('../src/fraud/rules/', import.meta.url).pathname;
/** Every event topic (the quarantine aside), whether this run's mix sends to it or not. */
const EVENT_TOPICS: readonly TopicName[] = EVENT_TYPES;
const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** ProducerPerformance over real sale rows, into a topic shaped like the sales topic; returns records/s. */
async function producerPerfBaseline(): Promise<number> {
  const libs = join(dirs.root, 'kafka-tools', 'libs');
  if (!existsSync(libs)) {
    log('(fetching kafka-tools jars with Maven, first run only)');
    const mvn = spawnSync(
      'mvn',
      ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`],
      {
        stdio: 'inherit',
      },
    );
    if (mvn.status !== 0) throw new Error('could not fetch kafka-tools with Maven');
  }
  const payloads = join(dirs.root, 'kafka-tools', 'sale-rows.txt');
  const rows = taggedEvents('sale', 'baseline', 1000).map((e) => {
    const v = validateEvent(e, Date.now());
    if (!isAccepted(v)) throw new Error('baseline event invalid');
    return JSON.stringify(v.row);
  });
  writeFileSync(payloads, rows.join('\n'));
  const topic = `bench.perf.${Date.now()}`;
  const admin = createKafka(config).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  const run = spawnSync(
    'java',
    [
      '-cp',
      `${libs}/*`,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(opts.baselineRecords),
      '--throughput',
      '-1',
      '--payload-file',
      payloads,
      '--producer-props',
      `bootstrap.servers=${config.KAFKA_BROKERS}`,
      'acks=all',
      'enable.idempotence=false',
      'compression.type=gzip',
    ],
    { encoding: 'utf8' },
  );
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  const summary = run.stdout.trim().split('\n').pop() ?? '';
  const match = /([\d.]+) records\/sec/.exec(summary);
  if (run.status !== 0 || !match) throw new Error(`ProducerPerformance failed: ${run.stderr}\n${run.stdout}`);
  log(
    `ProducerPerformance (${opts.baselineRecords.toLocaleString('en')} records, acks=all, not idempotent, gzip): ${summary}`,
  );
  return Number(match[1]);
}

const database = `bench_pipe_${Date.now().toString(36)}`;
const topicPrefix = `${database}.`;
const clickhouse: ClickHouseClient = createClickHouse(config, { request_timeout: 600_000 });
const query = async <T>(sql: string): Promise<T[]> =>
  (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<T>();
const kafka = createKafka(config);
const admin = kafka.admin();
const lag = createConsumerLag({ admin, topicPrefix, database });

async function preload(): Promise<void> {
  const started = performance.now();
  const rssBefore = procUsage(clickhousePid).rssBytes;
  // numbers(0) is unbounded on 18.16: skip empty loads.
  if (opts.history > 0) {
    const set = await loadDedupHistory({ clickhouse, database }, opts.history);
    const grew = procUsage(clickhousePid).rssBytes - rssBefore;
    log(
      `preloaded ${opts.history.toLocaleString('en')} ids into ${set} (${((performance.now() - started) / 1000).toFixed(0)} s); ClickHouse RSS +${(grew / 2 ** 30).toFixed(2)} GiB`,
    );
  }
  if (opts.historySales > 0) {
    const salesStarted = performance.now();
    const perSecond = opts.historySales / 86_400;
    for (const [table, columns, values] of [
      [
        'ticket_sales_ids',
        'id, ingested_at, event_time, timestamp_ms, event_id, order_id, user_id, amount, currency, country',
        `generateUUIDv4(), t, t, toUInt64(t) * 1000, concat('history-', toString(i % 500)), concat('order-', toString(i)), concat('user-', toString(i % 200000)), toDecimal64(120.5, 4), 'EUR', 'DE'`,
      ],
      [
        'sales_by_user',
        'user_id, event_time, timestamp_ms, id, country',
        `concat('user-', toString(i % 200000)), t, toUInt64(t) * 1000, generateUUIDv4(), 'DE'`,
      ],
    ] as const) {
      for (let done = 0; done < opts.historySales; done += 2_000_000) {
        const n = Math.min(2_000_000, opts.historySales - done);
        await clickhouse.command({
          query: `INSERT INTO ${database}.${table} (${columns})
                  SELECT ${values} FROM (
                    SELECT number + ${done} AS i,
                           toDateTime(toUInt32(now()) - 86400 + toUInt32(i / ${perSecond})) AS t
                    FROM numbers(${n}))`,
        });
      }
    }
    log(
      `preloaded ${opts.historySales.toLocaleString('en')} sales over the last day into ticket_sales_ids and sales_by_user (${((performance.now() - salesStarted) / 1000).toFixed(0)} s)`,
    );
    // A day of production arrives over a day, and its parts are merged as it goes; loaded in
    // seconds, it is a handful of unmerged parts that the first inserts of the run would merge
    // (a 115 MB merge of ticket_sales_ids in the first seconds of a run at 55,000/s). Merge each
    // partition now, as a day of background merges would have.
    const mergeStarted = performance.now();
    for (const table of ['ticket_sales_ids', 'sales_by_user']) {
      const partitions = await query<{ partition_id: string }>(
        `SELECT DISTINCT partition_id FROM system.parts
         WHERE database = '${database}' AND table = '${table}' AND active`,
      );
      for (const { partition_id } of partitions) {
        await clickhouse.command({
          query: `OPTIMIZE TABLE ${database}.${table} PARTITION ID '${partition_id}' FINAL`,
        });
      }
    }
    log(`merged the preloaded partitions (${((performance.now() - mergeStarted) / 1000).toFixed(0)} s)`);
  }
  // The preloaded day counts as evaluated: the runner starts from now, as a running service would.
  const now = Math.floor(Date.now() / 1000);
  const rules = readdirSync(RULES)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''));
  await clickhouse.insert({
    table: `${database}.fraud_rule_runs`,
    values: rules.map((rule) => ({ rule, evaluated_to: now, ran_at: now })),
    format: 'JSONEachRow',
  });
  for (;;) {
    const [row] = await query<{ n: string }>(
      `SELECT count() AS n FROM system.merges WHERE database = '${database}'`,
    );
    if (Number(row?.n) === 0) break;
    await sleep(1000);
  }
}

/** Parts inserted so far in the database (MergeTree block numbers are per table), merges running, busiest partition. */
async function partsState(): Promise<{ inserted: number; merges: number; mostActive: number }> {
  const where = `database = '${database}'`;
  const [blocks] = await query<{ n: string }>(
    `SELECT sum(m) AS n FROM (SELECT table, max(max_block_number) AS m FROM system.parts WHERE ${where} GROUP BY table)`,
  );
  const [merges] = await query<{ n: string }>(`SELECT count() AS n FROM system.merges WHERE ${where}`);
  const [active] = await query<{ n: string }>(
    `SELECT max(c) AS n FROM (SELECT count() AS c FROM system.parts WHERE ${where} AND active GROUP BY table, partition_id)`,
  );
  return {
    inserted: Number(blocks?.n ?? 0),
    merges: Number(merges?.n ?? 0),
    mostActive: Number(active?.n ?? 0),
  };
}

/**
 * The biggest merge of the database seen in each minute, sampled every 2 s from system.merges:
 * a minute whose freshness jumps while the consumers keep up has had its cores taken by
 * something inside ClickHouse, and a merge of a large part is the first suspect.
 */
function mergeSampler(started: number, minutes: number) {
  const biggest: ({ table: string; bytes: number } | undefined)[] = Array.from({ length: minutes });
  let running = true;
  const done = (async function sampleMerges() {
    while (running) {
      const rows = await query<{ table: string; bytes: string }>(
        `SELECT table, total_size_bytes_compressed AS bytes FROM system.merges WHERE database = '${database}'`,
      ).catch(() => []);
      const minute = Math.min(minutes - 1, Math.floor((Date.now() - started) / 60_000));
      for (const row of rows) {
        const bytes = Number(row.bytes);
        if (bytes > (biggest[minute]?.bytes ?? -1)) biggest[minute] = { table: row.table, bytes };
      }
      await sleep(2000);
    }
  })();
  return {
    /** The biggest merge of minute `m`, as `table MB`, or `-`. */
    of: (m: number) => {
      const merge = biggest[m];
      return merge ? `${merge.table} ${(merge.bytes / 2 ** 20).toFixed(0)} MB` : '-';
    },
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function behind(): Promise<number> {
  let sum = 0;
  for (const topic of EVENT_TOPICS) sum += await lag.messagesBehind(topic);
  return sum;
}

interface RateResult {
  rate: number;
  minutes: {
    acked: number;
    behind: number;
    p95: number;
    apiUs: number;
    brokerUs: number;
    clickhouseUs: number;
  }[];
}

async function runRate(apis: ServiceProcess[], rate: number): Promise<RateResult> {
  const minutes = opts.minutes;
  const load = sustainedLoad({
    key: API_KEY,
    urls: apis.map((a) => a.baseUrl),
    rate,
    clients: opts.clients,
    minutes,
    batch: opts.batch,
    mix: opts.mix,
    label: `r${rate}`,
    query,
    database,
  });
  const { started, perMinute } = load;
  log(
    `\n${rate.toLocaleString('en')} events/s offered (${opts.mix}), ${opts.batch} per request, ${opts.api} API processes, ${opts.clients} clients, ${minutes} min`,
  );
  log(
    'minute | acked/s | behind (msgs) | fresh p50 | fresh p95 | runner lag | parts/s | merges | most parts | µs/event: API | broker | ClickHouse | clients | CH RSS | biggest merge',
  );
  log(
    '------ | ------- | ------------- | --------- | --------- | ---------- | ------- | ------ | ---------- | ------------- | ------ | ---------- | ------- | ------ | -------------',
  );
  const merges = mergeSampler(started, minutes);
  const apiPids = () => apis.map((a) => a.pid());
  const clientPids = load.clientPids;
  let cpu = {
    api: cpuSecondsOf(apiPids()),
    broker: procUsage(brokerPid).cpuSeconds,
    ch: procUsage(clickhousePid).cpuSeconds,
    clients: cpuSecondsOf(clientPids()),
  };
  let parts = await partsState();
  const result: RateResult = { rate, minutes: [] };
  for (let m = 0; m < minutes; m++) {
    await sleep(Math.max(0, started + (m + 1) * 60_000 - Date.now()));
    const messagesBehind = await behind();
    const [runner] = await query<{ lag: string }>(
      `SELECT toUInt32(now()) - min(m) AS lag FROM (SELECT rule, toUInt32(max(evaluated_to)) AS m FROM ${database}.fraud_rule_runs GROUP BY rule)`,
    );
    const nowParts = await partsState();
    const now = {
      api: cpuSecondsOf(apiPids()),
      broker: procUsage(brokerPid).cpuSeconds,
      ch: procUsage(clickhousePid).cpuSeconds,
      clients: cpuSecondsOf(clientPids()),
    };
    const min = perMinute[m]!;
    const us = (seconds: number) => (min.acked > 0 ? (seconds * 1e6) / min.acked : NaN);
    const row = {
      acked: min.acked / 60,
      behind: messagesBehind,
      p95: percentile(min.latencies, 95),
      apiUs: us(now.api - cpu.api),
      brokerUs: us(now.broker - cpu.broker),
      clickhouseUs: us(now.ch - cpu.ch),
    };
    result.minutes.push(row);
    log(
      [
        String(m + 1).padStart(6),
        row.acked.toFixed(0).padStart(7),
        String(messagesBehind).padStart(13),
        fmtMs(percentile(min.latencies, 50)),
        fmtMs(row.p95),
        `${runner?.lag ?? '?'} s`.padStart(10),
        ((nowParts.inserted - parts.inserted) / 60).toFixed(1).padStart(7),
        String(nowParts.merges).padStart(6),
        String(nowParts.mostActive).padStart(10),
        row.apiUs.toFixed(1).padStart(13),
        row.brokerUs.toFixed(1).padStart(6),
        row.clickhouseUs.toFixed(1).padStart(10),
        us(now.clients - cpu.clients)
          .toFixed(1)
          .padStart(7),
        `${(procUsage(clickhousePid).rssBytes / 2 ** 30).toFixed(2)} GiB`,
        merges.of(m),
      ].join(' | '),
    );
    cpu = now;
    parts = nowParts;
  }
  const failures = await load.done;
  await merges.stop();
  if (failures > 0) log(`(${failures} requests failed or were not 202)`);
  return result;
}

/** The burst: `total` sales for one show, two clients as fast as they can; the trail per second. */
async function runBurst(apis: ServiceProcess[], total: number): Promise<string> {
  const show = `burst-${Date.now().toString(36)}`;
  let acked = 0;
  let lastAckAt = 0;
  let failures = 0;
  const started = Date.now();
  const clients = [0, 1].map((i) =>
    loadClient(
      API_KEY,
      [
        '--urls',
        apis.map((a) => a.baseUrl).join(','),
        '--total',
        String(total / 2),
        '--batch',
        '1000',
        '--mix',
        'sales',
        '--show',
        show,
        '--label',
        `burst${i}`,
        '--concurrency',
        '4',
      ],
      (ack) => {
        acked += ack.sales;
        lastAckAt = Math.max(lastAckAt, ack.at);
      },
      () => (failures += 1),
    ),
  );
  let clientsDone = false;
  void Promise.all(clients.map((c) => c.done)).then(() => (clientsDone = true));
  log(
    `\nburst: ${total.toLocaleString('en')} sales for one show, 2 clients × 1,000 per request, as fast as they can`,
  );
  log('second | acked | counted | trailing | behind (msgs)');
  log('------ | ----- | ------- | -------- | -------------');
  let counted = 0;
  for (let second = 1; ; second++) {
    await sleep(Math.max(0, started + second * 1000 - Date.now()));
    const [row] = await query<{ n: string }>(
      `SELECT sum(orders) AS n FROM ${database}.sales_per_minute WHERE event_id = '${show}'`,
    );
    counted = Number(row?.n ?? 0);
    log(
      `${String(second).padStart(6)} | ${String(acked).padStart(5)} | ${String(counted).padStart(7)} | ${String(acked - counted).padStart(8)} | ${String(await behind()).padStart(13)}`,
    );
    if (clientsDone && counted >= acked) break;
    if (clientsDone && Date.now() - lastAckAt > 120_000) break;
  }
  const after = (Date.now() - lastAckAt) / 1000;
  const line =
    counted >= acked
      ? `burst: ${acked.toLocaleString('en')} sales acknowledged in ${((lastAckAt - started) / 1000).toFixed(1)} s (${(acked / ((lastAckAt - started) / 1000)).toFixed(0)}/s), every one counted in sales_per_minute within ${after.toFixed(1)} s of the last 202 (sampled each second)`
      : `burst: ${(acked - counted).toLocaleString('en')} of ${acked.toLocaleString('en')} acknowledged sales still not counted ${after.toFixed(0)} s after the last 202`;
  return failures > 0 ? `${line}; ${failures} requests failed` : line;
}

log(
  describeRun(
    `npm run bench:pipeline -- --rates ${opts.rates} --minutes ${opts.minutes} --mix ${opts.mix} --batch ${opts.batch} --api ${opts.api} --clients ${opts.clients} --burst ${opts.burst} --history ${opts.history} --history-sales ${opts.historySales}`,
  ),
);
const baseline = await producerPerfBaseline();
const postgres = await createScratchPostgres(config.DATABASE_URL, database);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: postgres.url,
  CLICKHOUSE_DATABASE: database,
  KAFKA_TOPIC_PREFIX: topicPrefix,
  INGEST_API_KEYS: `bench:${API_KEY}`,
  LOG_LEVEL: 'warn',
};
const logDir = mkdtempSync(join(tmpdir(), 'ticketpulse-bench-'));
const apis: ServiceProcess[] = [];
try {
  runTsx('src/migrate/cli.ts', [], env);
  await admin.connect();
  await preload();
  for (let i = 0; i < opts.api; i++) {
    const roles = i === 0 ? 'api,rules' : 'api';
    const api = createServiceProcess(
      { ...env, TICKETPULSE_ROLES: roles },
      await freePort(),
      join(logDir, `api-${i}.log`),
    );
    await api.start();
    apis.push(api);
  }
  log(
    `${opts.api} service processes (${apis.map((a, i) => `${a.baseUrl} ${i === 0 ? 'api,rules' : 'api'}`).join('; ')}); logs in ${logDir}`,
  );
  const before = procUsage(clickhousePid).cpuSeconds;
  await sleep(60_000);
  log(
    `idle minute (rule runner and heartbeats running, no traffic): ClickHouse CPU ${(((procUsage(clickhousePid).cpuSeconds - before) / 60) * 100).toFixed(1)} % of one core, RSS ${(procUsage(clickhousePid).rssBytes / 2 ** 30).toFixed(2)} GiB`,
  );
  const summary: string[] = [];
  for (const rate of rates) {
    const { minutes } = await runRate(apis, rate);
    const sustained = median(minutes.map((r) => r.acked));
    const behindList = minutes.map((r) => r.behind);
    // Growing: more than one second of traffic added to the backlog between the first and last minute.
    const growing = minutes.length > 1 && behindList.at(-1)! - behindList[0]! > rate;
    summary.push(
      `${rate.toLocaleString('en')}/s offered: median ${sustained.toFixed(0)} events/s acknowledged = ${(sustained / baseline).toFixed(2)} × ProducerPerformance (${baseline.toFixed(0)}/s); freshness p95 median ${median(minutes.map((r) => r.p95)).toFixed(0)} ms, worst minute ${Math.max(...minutes.map((r) => r.p95)).toFixed(0)} ms; lag ${growing ? 'GREW' : 'did not grow'} (${behindList.join(' → ')}); µs/event median: API ${median(minutes.map((r) => r.apiUs)).toFixed(1)}, broker ${median(minutes.map((r) => r.brokerUs)).toFixed(1)}, ClickHouse ${median(minutes.map((r) => r.clickhouseUs)).toFixed(1)}`,
    );
  }
  if (opts.burst > 0) summary.push(await runBurst(apis, opts.burst));
  log('\nsummary');
  for (const line of summary) log(`  ${line}`);
} finally {
  for (const api of apis) await api.stop().catch(() => undefined);
  // The database before its topics, as the tests do: a Kafka table whose topic was deleted first
  // kept its DROP waiting past the client's timeout, and the database stayed, its consumers
  // polling for the missing topics (12.8 % of a core, idle, after three runs).
  await removeClickHouseAndTopics({ clickhouse, admin, database, topicPrefix }).catch((err: unknown) =>
    log(`cleanup: ${(err as Error).message}`),
  );
  await admin.disconnect().catch(() => undefined);
  await clickhouse.close();
  await postgres.drop().catch(() => undefined);
}
process.exit(0);
