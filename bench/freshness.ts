/**
 * `npm run bench:freshness -- [--rates 5,50,500,2000] [--seconds 20] [--history 86400000]`:
 * how long after the API's 202 an event is counted, at steady rates, in each live view:
 * `sales_per_minute`, `engagement_per_minute`, `metrics_per_minute`, `rejected_events`, and
 * how long until a large sale's alert is in `fraud_alerts` (the service's rules role runs the fraud rules with its
 * configured interval and lag). Sales are sent at the rate, in requests of one event up to
 * 50/s and batches of rate/50 above; interactions, metrics and malformed records (quarantined)
 * each at a quarter of it, in requests of their own.
 *
 * Two configurations in the same run, on the same machine: the stack's (the server profile's
 * stream_flush_interval_ms 100, one-row Kafka blocks from the migrations, the service's Kafka
 * heartbeats) and ClickHouse's defaults (7500 ms, 65,536 rows, no heartbeats) as the baseline.
 * Requests arrive at random (Poisson) by default, as buyers do: pauses are what 18.16 handles
 * worst. The local ClickHouse is restarted between
 * them, so this needs `npm run stack -- up` (not an external ClickHouse). Before traffic, each
 * configuration's dedup sets are loaded with `--history` ids (a day at 1,000 events/s).
 *
 * Latency = first poll (every 50 ms) that sees all of a request's events - its 202. Also printed
 * per rate: parts created per second in the pipeline's database, the most active parts in one
 * partition at the end, and merges still running.
 */
import { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { DEFAULT_KAFKA_MAX_BLOCK_SIZE } from '../src/migrate/clickhouse-migrator.js';
import { startServiceHarness, type ServiceHarness } from '../test/harness/service-harness.js';
import { clickHouseService } from '../scripts/stack/clickhouse.js';
import { stackDirs } from '../scripts/stack/service.js';
import { loadDedupHistory } from './dedup-history.js';
import { describeRun, fmtMs, percentile } from './machine.js';
import { KINDS, taggedEvents, type Kind } from './tagged-events.js';

const opts = new Command('bench:freshness')
  .option('--rates <list>', 'sales per second, comma-separated', '5,50,500,2000')
  .option('--seconds <n>', 'seconds of traffic per rate', (v) => Number(v), 20)
  .option('--history <ids>', 'ids preloaded into the sales dedup sets', (v) => Number(v), 86_400_000)
  .option('--arrivals <kind>', 'poisson (random gaps, as real buyers) or uniform', 'poisson')
  .option('--no-baseline', 'skip the ClickHouse-defaults configuration')
  .parse()
  .opts<{ rates: string; seconds: number; history: number; arrivals: string; baseline: boolean }>();
if (!['poisson', 'uniform'].includes(opts.arrivals)) throw new Error('--arrivals is poisson or uniform');
const rates = opts.rates.split(',').map(Number);

const config = loadConfig();
if (process.env.CLICKHOUSE_URL)
  throw new Error('bench:freshness restarts the local ClickHouse; unset CLICKHOUSE_URL');
const dirs = stackDirs();
const API_KEY = 'bench-freshness-key';
const GIVE_UP_MS = 30_000;
const POLL_MS = 50;

type Target = Kind | 'alert';
const TARGETS: Target[] = [...KINDS, 'alert'];
const LABEL: Record<Target, string> = {
  sale: 'sales_per_minute',
  interaction: 'engagement_per_minute',
  metric: 'metrics_per_minute',
  rejected: 'rejected_events',
  alert: 'fraud_alerts (large sale)',
};
/** Per target: tag and how many of its records are counted so far. */
function countQuery(db: string, target: Target): string {
  switch (target) {
    case 'sale':
      return `SELECT event_id AS tag, sum(orders) AS n FROM ${db}.sales_per_minute GROUP BY tag`;
    case 'interaction':
      return `SELECT event_id AS tag, sum(interactions) AS n FROM ${db}.engagement_per_minute GROUP BY tag`;
    case 'metric':
      return `SELECT name AS tag, sum(samples) AS n FROM ${db}.metrics_per_minute GROUP BY tag`;
    case 'rejected':
      return `SELECT extract(raw, '"event_id":"([^"]*)"') AS tag, count() AS n FROM ${db}.rejected_events GROUP BY tag`;
    case 'alert':
      return `SELECT event_id AS tag, count() AS n FROM ${db}.fraud_alerts WHERE rule = 'large_amount' GROUP BY tag`;
  }
}

interface Sent {
  target: Target;
  expected: number;
  ackedAt: number;
  seenAt?: number;
}

async function runRate(p: ServiceHarness, rate: number) {
  const batch = rate <= 50 ? 1 : Math.round(rate / 50);
  const interval = (batch / rate) * 1000;
  const sent = new Map<string, Sent>(); // key: target/tag
  let sending = true;
  let lastAck = performance.now();
  let slowestPoll = 0;
  const poller = (async function poll() {
    while (sending || [...sent.values()].some((s) => s.seenAt === undefined)) {
      const pollStarted = performance.now();
      const results = await Promise.all(
        TARGETS.map((t) => p.query<{ tag: string; n: string }>(countQuery(p.database, t))),
      );
      const now = performance.now();
      slowestPoll = Math.max(slowestPoll, now - pollStarted);
      TARGETS.forEach((target, i) => {
        for (const row of results[i]!) {
          const s = sent.get(`${target}/${row.tag}`);
          if (s && s.seenAt === undefined && Number(row.n) >= s.expected) s.seenAt = now;
        }
      });
      if (!sending && now - lastAck > GIVE_UP_MS) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  const parts = sampleParts(p);

  const started = performance.now();
  let i = 0;
  let posted = 0;
  try {
    await send();
  } finally {
    sending = false;
    await poller.catch(() => undefined);
  }
  const achieved = posted / ((performance.now() - started) / 1000);
  const partStats = await parts.stop();
  return { batch, achieved, sent: [...sent.values()], partStats, slowestPoll };

  /** Posts on schedule without waiting for earlier requests (up to 64 in flight). */
  async function send() {
    const inFlight = new Set<Promise<void>>();
    let due = started;
    while (performance.now() - started < opts.seconds * 1000) {
      due += opts.arrivals === 'poisson' ? -Math.log(1 - Math.random()) * interval : interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (inFlight.size >= 64) await Promise.race(inFlight);
      // Sales every tick; each other kind every fourth tick, in turn.
      const kinds: Kind[] = i % 4 === 0 ? ['sale'] : ['sale', KINDS[i % 4]!];
      for (const kind of kinds) {
        const request = post(kind, `r${rate}-${kind}-${i}`).finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      i += 1;
    }
    await Promise.all(inFlight);
  }

  async function post(kind: Kind, tag: string): Promise<void> {
    const res = await p.post(taggedEvents(kind, tag, batch, kind === 'sale'));
    // A request of only malformed records is answered 400; its records are quarantined.
    const expected = kind === 'rejected' ? 400 : 202;
    if (res.status !== expected) throw new Error(`API answered ${res.status}: ${await res.text()}`);
    lastAck = performance.now();
    sent.set(`${kind}/${tag}`, { target: kind, expected: batch, ackedAt: lastAck });
    if (kind === 'sale') {
      sent.set(`alert/${tag}`, { target: 'alert', expected: 1, ackedAt: lastAck });
      posted += batch;
    }
  }
}

/** Samples system.parts every second: distinct parts seen (created), active parts per partition, merges. */
function sampleParts(p: ServiceHarness) {
  const seen = new Set<string>();
  const started = performance.now();
  let running = true;
  const where = `database = '${p.database}'`;
  const loop = (async function sample() {
    while (running) {
      const rows = await p.query<{ part: string }>(
        `SELECT concat(table, '/', name) AS part FROM system.parts WHERE ${where}`,
      );
      for (const r of rows) seen.add(r.part);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  const initial = p.query<{ part: string }>(
    `SELECT concat(table, '/', name) AS part FROM system.parts WHERE ${where}`,
  );
  return {
    async stop() {
      running = false;
      await loop;
      const before = new Set((await initial).map((r) => r.part));
      const created = [...seen].filter((x) => !before.has(x)).length;
      const [active] = await p.query<{ most: string }>(
        `SELECT max(n) AS most FROM (SELECT count() AS n FROM system.parts WHERE ${where} AND active GROUP BY table, partition_id)`,
      );
      const [merges] = await p.query<{ n: string }>(`SELECT count() AS n FROM system.merges WHERE ${where}`);
      return {
        createdPerSecond: created / ((performance.now() - started) / 1000),
        mostActive: Number(active?.most ?? 0),
        merges: Number(merges?.n ?? 0),
      };
    },
  };
}

async function preloadHistory(p: ServiceHarness, ids: number) {
  if (ids <= 0) return;
  const started = performance.now();
  const set = await loadDedupHistory(p, ids);
  console.log(
    `  (${ids.toLocaleString('en')} ids loaded into ${set} in ${((performance.now() - started) / 1000).toFixed(0)} s)`,
  );
}

async function measureConfiguration(label: string, kafkaMaxBlockSize: number, heartbeatMs: number) {
  // The real service with the rules role, so the fraud rules run as deployed.
  const p = await startServiceHarness({
    name: `bench_fresh_${Date.now().toString(36)}`,
    ingestKey: API_KEY,
    env: {
      TICKETPULSE_ROLES: 'api,bridge,rules',
      CLICKHOUSE_KAFKA_MAX_BLOCK_SIZE: String(kafkaMaxBlockSize),
      KAFKA_HEARTBEAT_MS: String(heartbeatMs),
    },
  });
  try {
    console.log(`\n${label}`);
    await preloadHistory(p, opts.history);
    console.log(
      'rate/s | batch | sales/s    | target                    |       p50 |       p95 |       p99 |       max | not seen in 30 s',
    );
    console.log(
      '------ | ----- | ---------- | ------------------------- | --------- | --------- | --------- | --------- | ---------------',
    );
    const partsLines: string[] = [];
    for (const rate of rates) {
      const r = await runRate(p, rate);
      for (const target of TARGETS) {
        const mine = r.sent.filter((s) => s.target === target);
        const lat = mine.flatMap((s) => (s.seenAt === undefined ? [] : [s.seenAt - s.ackedAt]));
        const missing = mine.length - lat.length;
        console.log(
          `${String(rate).padStart(6)} | ${String(r.batch).padStart(5)} | ${r.achieved.toFixed(0).padStart(10)} | ${LABEL[target].padEnd(25)} | ${fmtMs(percentile(lat, 50))} | ${fmtMs(percentile(lat, 95))} | ${fmtMs(percentile(lat, 99))} | ${fmtMs(lat.length ? Math.max(...lat) : NaN)} | ${missing} of ${mine.length}`,
        );
      }
      partsLines.push(
        `${String(rate).padStart(6)} | ${r.partStats.createdPerSecond.toFixed(1).padStart(15)} | ${String(r.partStats.mostActive).padStart(27)} | ${String(r.partStats.merges).padStart(14)} | ${r.slowestPoll.toFixed(0).padStart(13)} ms`,
      );
    }
    console.log('\nrate/s | parts created/s | most active parts/partition | merges running | slowest poll');
    console.log('------ | --------------- | --------------------------- | -------------- | ------------');
    for (const line of partsLines) console.log(line);
  } finally {
    await p.close();
  }
}

async function restartClickHouse(profileOverrides?: Record<string, string>) {
  await clickHouseService(dirs).stop();
  await clickHouseService(dirs, { profileOverrides }).start(() => undefined);
}

console.log(
  describeRun(
    `npm run bench:freshness -- --rates ${opts.rates} --seconds ${opts.seconds} --history ${opts.history} --arrivals ${opts.arrivals}${opts.baseline ? '' : ' --no-baseline'}`,
  ),
);
try {
  await measureConfiguration(
    `tuned: stream_flush_interval_ms 100, kafka_max_block_size ${DEFAULT_KAFKA_MAX_BLOCK_SIZE}, heartbeats every ${config.KAFKA_HEARTBEAT_MS} ms`,
    DEFAULT_KAFKA_MAX_BLOCK_SIZE,
    config.KAFKA_HEARTBEAT_MS,
  );
  if (opts.baseline) {
    await restartClickHouse({ stream_flush_interval_ms: '7500' });
    await measureConfiguration(
      'baseline, ClickHouse defaults: stream_flush_interval_ms 7500, kafka_max_block_size 65536, no heartbeats',
      65_536,
      0,
    );
  }
} finally {
  if (opts.baseline) await restartClickHouse();
}
process.exit(0);
