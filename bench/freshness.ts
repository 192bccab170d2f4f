/**
 * `npm run bench:freshness -- [--rate 1000] [--seconds 20]`: how long after the API's 202 an
 * event is counted in `sales_per_minute`, at a steady rate, with the stack's tuned Kafka engine
 * (stream_flush_interval_ms 100 from stack/clickhouse/users.d, kafka_max_block_size 100 in the
 * migrations) and with ClickHouse's defaults (7500 ms, 65,536 rows), measured in the same run. Restarts the local stack's ClickHouse between the two,
 * so it needs `npm run stack -- up` (not an external ClickHouse).
 *
 * Each batch gets its own show id; a poller reads `sales_per_minute` every 25 ms and records
 * when each show's orders are all counted. Latency = seen - acknowledged (includes up to one
 * poll interval).
 */
import { Command } from 'commander';
import { clickHouseService } from '../scripts/stack/clickhouse.js';
import { stackDirs } from '../scripts/stack/service.js';
import { ticketSale } from '../test/fixtures/events.js';
import { config } from '../test/integration/helpers.js';
import { createTestPipeline } from '../test/integration/pipeline.js';
import { DEFAULT_KAFKA_MAX_BLOCK_SIZE } from '../src/migrate/clickhouse-migrator.js';
import { describeRun, median, percentile } from './machine.js';

const opts = new Command('bench:freshness')
  .option('--rate <events/s>', 'events per second', (v) => Number(v), 1000)
  .option('--seconds <n>', 'seconds of traffic per configuration', (v) => Number(v), 20)
  .option('--batch <n>', 'events per request', (v) => Number(v), 100)
  .parse()
  .opts<{ rate: number; seconds: number; batch: number }>();

if (process.env.CLICKHOUSE_URL)
  throw new Error('bench:freshness restarts the local ClickHouse; unset CLICKHOUSE_URL');
const dirs = stackDirs(config.TICKETPULSE_STACK_DIR);
const quiet = () => undefined;

async function measure(label: string, kafkaMaxBlockSize?: number): Promise<number[]> {
  const p = await createTestPipeline(`bench_fresh`, { kafkaMaxBlockSize });
  const acked = new Map<string, number>();
  const seen = new Map<string, number>();
  const expected = new Map<string, number>();
  let polling = true;
  let lastAck = performance.now();
  const poller = (async () => {
    while (polling || seen.size < acked.size) {
      const rows = await p.query<{ event_id: string; orders: string }>(
        `SELECT event_id, sum(orders) AS orders FROM ${p.database}.sales_per_minute GROUP BY event_id`,
      );
      const now = performance.now();
      for (const row of rows) {
        if (!seen.has(row.event_id) && Number(row.orders) >= (expected.get(row.event_id) ?? Infinity)) {
          seen.set(row.event_id, now);
        }
      }
      if (!polling && performance.now() - lastAck > 60_000) break; // give up on stragglers
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const interval = (opts.batch / opts.rate) * 1000;
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < opts.seconds * 1000) {
    const due = started + n * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const show = `fresh-${n}`;
    expected.set(show, opts.batch);
    const res = await p.post(
      Array.from({ length: opts.batch }, () => ticketSale({}, { event_id: show, user_id: `u-${n}` })),
    );
    if (res.status !== 202) throw new Error(`API answered ${res.status}`);
    lastAck = performance.now();
    acked.set(show, lastAck);
    n += 1;
  }
  const achieved = (n * opts.batch) / ((performance.now() - started) / 1000);
  polling = false;
  await poller;
  await p.close();
  const latencies = [...acked].flatMap(([show, at]) => {
    const s = seen.get(show);
    return s === undefined ? [] : [s - at];
  });
  const missing = acked.size - latencies.length;
  console.log(
    `${label.padEnd(28)} | ${achieved.toFixed(0).padStart(8)} | ${fmt(percentile(latencies, 50))} | ${fmt(percentile(latencies, 95))} | ${fmt(percentile(latencies, 99))} | ${fmt(Math.max(...latencies))} | ${missing}`,
  );
  return latencies;
}

function fmt(ms: number): string {
  return `${ms.toFixed(0).padStart(6)} ms`;
}

async function restartClickHouse(profileOverrides?: Record<string, string>) {
  await clickHouseService(dirs).stop();
  await clickHouseService(dirs, { profileOverrides }).start(quiet);
}

console.log(
  describeRun(
    `npm run bench:freshness -- --rate ${opts.rate} --seconds ${opts.seconds} --batch ${opts.batch}`,
  ),
);
console.log(`\nlatency from 202 to counted in sales_per_minute; ${opts.batch} events per request\n`);
console.log(
  'configuration                | events/s |       p50 |       p95 |       p99 |       max | not seen',
);
console.log(
  '---------------------------- | -------- | --------- | --------- | --------- | --------- | --------',
);
try {
  const tuned = await measure(`tuned (100 ms, ${DEFAULT_KAFKA_MAX_BLOCK_SIZE} rows)`);
  await restartClickHouse({ stream_flush_interval_ms: '7500' });
  const defaults = await measure('default (7500 ms, 65536 rows)', 65_536);
  console.log(
    `\np95 ratio default/tuned: ${(percentile(defaults, 95) / percentile(tuned, 95)).toFixed(1)}x; medians ${median(tuned).toFixed(0)} vs ${median(defaults).toFixed(0)} ms`,
  );
} finally {
  await restartClickHouse();
}
process.exit(0);
