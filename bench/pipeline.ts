/**
 * `npm run bench:pipeline -- [--rates 1000,4000] [--minutes 10] [--history 86400000]
 * [--history-sales 8640000] [--batch 100]`: sustained throughput with no growing lag.
 *
 * 1. Baseline: the broker's own producer benchmark (ProducerPerformance, the class behind
 *    kafka-producer-perf-test, same version as the broker) sends real sale rows with the API's
 *    producer settings (acks=all, idempotent, gzip) as fast as it can, on the same machine.
 * 2. An isolated pipeline (own database and topics, the service's heartbeats and fraud rule
 *    runner) is loaded with a day of dedup history (`--history` ids, written straight into the
 *    sales dedup sets) and a day of sales for the fraud rules (`--history-sales` rows in
 *    ticket_sales_ids and sales_by_user).
 * 3. Once the preload's merges are done, one idle minute: ClickHouse's CPU with the rule runner
 *    and heartbeats running, no traffic.
 * 4. Each rate for `--minutes`, through the API over HTTP (requests of `--batch` sales, each
 *    request its own show and buyers). Printed per minute: events/s acknowledged, messages
 *    behind (the ClickHouse consumer group's lag on the sales topic), freshness p50/p95 (202 to
 *    counted in sales_per_minute, every request), the fraud rule runner's lag (now minus its
 *    oldest watermark), active parts, ClickHouse CPU (% of one core) and resident memory.
 *
 * Needs the local stack (`npm run stack -- up`): it reads ClickHouse's pid for CPU and memory.
 */
import { serve } from '@hono/node-server';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Command } from 'commander';
import { createKafka } from '../src/clients/kafka.js';
import { loadConfig } from '../src/config.js';
import { createIsolatedPipeline, type IsolatedPipeline } from '../src/pipeline/isolated-pipeline.js';
import { validateEvent, isAccepted } from '../src/events/validate-event.js';
import { clickHouseService } from '../scripts/stack/clickhouse.js';
import { stackDirs } from '../scripts/stack/service.js';
import { loadDedupHistory } from './dedup-history.js';
import { describeRun, fmtMs, median, percentile } from './machine.js';
import { taggedEvents } from './tagged-events.js';

const opts = new Command('bench:pipeline')
  .option('--rates <list>', 'sales per second, comma-separated', '1000,4000')
  .option('--minutes <n>', 'minutes per rate', (v) => Number(v), 10)
  .option('--history <ids>', 'ids preloaded into the sales dedup sets', (v) => Number(v), 86_400_000)
  .option('--history-sales <rows>', 'sales preloaded for the fraud rules', (v) => Number(v), 8_640_000)
  .option('--batch <n>', 'sales per request', (v) => Number(v), 100)
  .option('--baseline-records <n>', 'records sent by ProducerPerformance', (v) => Number(v), 2_000_000)
  .parse()
  .opts<{
    rates: string;
    minutes: number;
    history: number;
    historySales: number;
    batch: number;
    baselineRecords: number;
  }>();
const rates = opts.rates.split(',').map(Number);

const config = loadConfig();
const dirs = stackDirs(config);
const clickhousePid = clickHouseService(dirs).pid();
if (clickhousePid === undefined) throw new Error('bench:pipeline needs the local stack: npm run stack -- up');
const API_KEY = 'bench-pipeline-key';
const POM = new URL('./kafka-tools/pom.xml', import.meta.url).pathname;
const log = (line: string) => console.log(line);

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
      'enable.idempotence=true',
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
    `ProducerPerformance (${opts.baselineRecords.toLocaleString('en')} records, acks=all, idempotent, gzip): ${summary}`,
  );
  return Number(match[1]);
}

/** ClickHouse's CPU seconds so far and resident memory, from /proc. */
function clickhouseUsage(): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${clickhousePid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${clickhousePid}/status`, 'utf8'));
  return { cpuSeconds: ticks / 100, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}

async function preload(p: IsolatedPipeline): Promise<void> {
  const started = performance.now();
  const rssBefore = clickhouseUsage().rssBytes;
  // numbers(0) is unbounded on 18.16: skip empty loads.
  if (opts.history > 0) await preloadIds(p, started, rssBefore);
  if (opts.historySales > 0) await preloadSales(p);
  // The preloaded day counts as evaluated: the runner starts from now, as a running service would.
  await p.clickhouse.insert({
    table: `${p.database}.fraud_rule_runs`,
    values: p.fraudRules.rules.map((rule) => ({
      rule,
      evaluated_to: Math.floor(Date.now() / 1000),
      ran_at: Math.floor(Date.now() / 1000),
    })),
    format: 'JSONEachRow',
  });
}

async function preloadIds(p: IsolatedPipeline, started: number, rssBefore: number): Promise<void> {
  const set = await loadDedupHistory(p, opts.history);
  const grew = clickhouseUsage().rssBytes - rssBefore;
  log(
    `preloaded ${opts.history.toLocaleString('en')} ids into ${set} (${((performance.now() - started) / 1000).toFixed(0)} s); ClickHouse RSS +${(grew / 2 ** 30).toFixed(2)} GiB = ${(grew / 2 ** 20 / (opts.history / 1e6)).toFixed(1)} MiB per million ids`,
  );
}

async function preloadSales(p: IsolatedPipeline): Promise<void> {
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
      await p.clickhouse.command({
        query: `INSERT INTO ${p.database}.${table} (${columns})
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
}

/** Waits until the preload's background merges are done, so the idle minute measures idling. */
async function settleMerges(p: IsolatedPipeline): Promise<void> {
  const started = performance.now();
  for (;;) {
    const [row] = await p.query<{ n: string }>(
      `SELECT count() AS n FROM system.merges WHERE database = '${p.database}'`,
    );
    if (Number(row?.n) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  log(`preload merges settled (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

interface Minute {
  acked: number;
  latencies: number[];
}

async function runRate(p: IsolatedPipeline, url: string, rate: number, minutes: number, label: string) {
  const pending = new Map<string, { at: number; minute: number }>();
  const perMinute: Minute[] = Array.from({ length: minutes }, () => ({ acked: 0, latencies: [] }));
  const started = performance.now();
  const end = started + minutes * 60_000;
  const interval = (opts.batch / rate) * 1000;
  let sending = true;
  let errors = 0;
  let seq = 0;

  const poller = (async function pollFreshness() {
    while (sending || pending.size > 0) {
      const tags = [...pending.keys()].slice(0, 500);
      if (tags.length > 0) {
        const rows = await p.query<{ tag: string; n: string }>(
          `SELECT event_id AS tag, sum(orders) AS n FROM ${p.database}.sales_per_minute
           WHERE event_id IN (${tags.map((t) => `'${t}'`).join(', ')}) GROUP BY tag`,
        );
        const now = performance.now();
        for (const r of rows) {
          const s = pending.get(r.tag);
          if (s && Number(r.n) >= opts.batch) {
            perMinute[s.minute]?.latencies.push(now - s.at);
            pending.delete(r.tag);
          }
        }
      }
      if (!sending && performance.now() - end > 60_000) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  const sender = (async function send() {
    const inFlight = new Set<Promise<void>>();
    let due = started;
    while (performance.now() < end) {
      due += interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (inFlight.size >= 64) await Promise.race(inFlight);
      const tag = `${label}-${seq++}`;
      const body = JSON.stringify(taggedEvents('sale', tag, opts.batch));
      const request = fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body,
      })
        .then(async (res) => {
          await res.arrayBuffer();
          const at = performance.now();
          const minute = Math.min(minutes - 1, Math.floor((at - started) / 60_000));
          if (res.status !== 202) {
            errors += 1;
            return;
          }
          perMinute[minute]!.acked += opts.batch;
          pending.set(tag, { at, minute });
        })
        .catch(() => {
          errors += 1;
        })
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    await Promise.all(inFlight);
  })();

  log(`\n${rate.toLocaleString('en')} sales/s offered, ${opts.batch} per request, ${minutes} min`);
  log(
    'minute | acked/s | behind (msgs) | fresh p50 | fresh p95 | runner lag | active parts | CH CPU % | CH RSS',
  );
  log(
    '------ | ------- | ------------- | --------- | --------- | ---------- | ------------ | -------- | ------',
  );
  let usage = clickhouseUsage();
  const rows: { acked: number; behind: number }[] = [];
  for (let m = 0; m < minutes; m++) {
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, started + (m + 1) * 60_000 - performance.now())),
    );
    const behind = await p.messagesBehind('ticket_sale');
    const [lag] = await p.query<{ lag: string }>(
      `SELECT toUInt32(now()) - min(m) AS lag FROM (SELECT rule, toUInt32(max(evaluated_to)) AS m FROM ${p.database}.fraud_rule_runs GROUP BY rule)`,
    );
    const [parts] = await p.query<{ n: string }>(
      `SELECT count() AS n FROM system.parts WHERE database = '${p.database}' AND active`,
    );
    const now = clickhouseUsage();
    const cpu = ((now.cpuSeconds - usage.cpuSeconds) / 60) * 100;
    usage = now;
    const min = perMinute[m]!;
    rows.push({ acked: min.acked / 60, behind });
    log(
      `${String(m + 1).padStart(6)} | ${(min.acked / 60).toFixed(0).padStart(7)} | ${String(behind).padStart(13)} | ${fmtMs(percentile(min.latencies, 50))} | ${fmtMs(percentile(min.latencies, 95))} | ${`${lag?.lag ?? '?'} s`.padStart(10)} | ${String(parts?.n).padStart(12)} | ${cpu.toFixed(0).padStart(8)} | ${(now.rssBytes / 2 ** 30).toFixed(2)} GiB`,
    );
  }
  sending = false;
  await sender;
  await poller;
  if (errors > 0) log(`(${errors} requests failed or were not 202)`);
  return rows;
}

log(
  describeRun(
    `npm run bench:pipeline -- --rates ${opts.rates} --minutes ${opts.minutes} --history ${opts.history} --history-sales ${opts.historySales} --batch ${opts.batch}`,
  ),
);
const baseline = await producerPerfBaseline();
const p = await createIsolatedPipeline({
  config,
  name: `bench_pipe_${Date.now().toString(36)}`,
  apiKey: API_KEY,
  heartbeatMs: config.KAFKA_HEARTBEAT_MS,
});
const server = serve({ fetch: p.app.fetch, hostname: '127.0.0.1', port: 0 });
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
try {
  await preload(p);
  await settleMerges(p);
  p.fraudRules.start();
  const before = clickhouseUsage();
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  const after = clickhouseUsage();
  log(
    `idle minute (rule runner and heartbeats running, no traffic): ClickHouse CPU ${(((after.cpuSeconds - before.cpuSeconds) / 60) * 100).toFixed(1)} % of one core, RSS ${(after.rssBytes / 2 ** 30).toFixed(2)} GiB`,
  );
  const summary: string[] = [];
  for (const rate of rates) {
    const rows = await runRate(p, url, rate, opts.minutes, `r${rate}`);
    const sustained = median(rows.map((r) => r.acked));
    const growing = rows.length > 2 && rows.at(-1)!.behind > Math.max(10 * opts.batch, rows[1]!.behind * 2);
    summary.push(
      `${rate.toLocaleString('en')}/s offered: median ${sustained.toFixed(0)} acked/s = ${(sustained / baseline).toFixed(2)} of ProducerPerformance (${baseline.toFixed(0)}/s); lag ${growing ? 'GREW' : 'did not grow'} (${rows.map((r) => r.behind).join(' → ')})`,
    );
  }
  log('\nsummary');
  for (const line of summary) log(`  ${line}`);
} finally {
  server.close();
  // Dropping a database that holds a day of ids can outlast the client's timeout; the server
  // finishes it anyway.
  await p.close().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
}
process.exit(0);
