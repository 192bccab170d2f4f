/**
 * `npm run bench:push -- [--seconds 20] [--rate 200]`: the push role under many subscribers,
 * on the real services. Two scenarios, each with sales posted at `--rate` per second:
 * - one feed (`sales_per_minute` of one show) watched by 1,000 WebSocket subscribers;
 * - 100 feeds (one per show) watched by 10 subscribers each.
 * For each: delivery delay p50/p99 from the moment the poller has a delta until a client has
 * read it, bytes per delta, the server process's RSS, and ClickHouse queries per second.
 * Baseline in the same run: a bare `ws` server broadcasting messages of the same size to the
 * same number of sockets. The clients run in a child process (bench/push-clients.ts).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import Table from 'cli-table3';
import { WebSocketServer } from 'ws';
import { loadConfig } from '../src/config.js';
import { startServiceHarness } from '../test/harness/service-harness.js';
import { describeRun, fmtMs, median, percentile } from './machine.js';
import { saleEvents } from './sale-events.js';

const { seconds, rate } = new Command('bench:push')
  .option('--seconds <n>', 'seconds of traffic per scenario', (v) => Number(v), 20)
  .option('--rate <n>', 'sales per second', (v) => Number(v), 200)
  .parse()
  .opts<{ seconds: number; rate: number }>();

const config = loadConfig();
const name = `bench_push_${Date.now().toString(36)}`;
const ADMIN = 'bench-admin-key-1234';
const now = () => performance.timeOrigin + performance.now();

console.log(describeRun(`npm run bench:push -- --seconds ${seconds} --rate ${rate}`));

/** When each delta (by cursor) left the poller, epoch ms. */
const seen = new Map<string, number>();
// The real service (roles api, bridge and push) on databases and topics of its own.
const pipeline = await startServiceHarness({
  name,
  ingestKey: 'bench-ingest-key-1234',
  env: {
    TICKETPULSE_ROLES: 'api,bridge,push',
    ADMIN_API_KEY: ADMIN,
    LIVE_POLL_INTERVAL_MS: String(config.LIVE_POLL_INTERVAL_MS),
    CLICKHOUSE_KAFKA_MAX_BLOCK_SIZE: '100',
  },
  hooks: { onLiveDelta: (d) => seen.set(d.cursor, now()) },
});
const base = pipeline.baseUrl;
const shows = Array.from({ length: 100 }, (_, i) => `bench-show-${i}`);

const fleet = spawn(
  process.execPath,
  ['--import', 'tsx', new URL('./push-clients.ts', import.meta.url).pathname],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const fleetLines = createInterface({ input: fleet.stdout! })[Symbol.asyncIterator]();
async function fleetSay(line: string): Promise<string> {
  fleet.stdin!.write(line + '\n');
  const next = await fleetLines.next();
  if (next.done) throw new Error('the client fleet exited');
  return next.value;
}

/** The push role's poll queries so far, from the service's own `GET /metrics`. */
async function queriesSoFar(): Promise<number> {
  const text = await (await pipeline.app.request('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith('ticketpulse_live_queries_total{purpose="poll"}'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Posts `rate` sales per second for `seconds` across `targets`, in batches every 250 ms. */
async function traffic(targets: string[]): Promise<void> {
  const perBatch = Math.max(1, Math.round(rate / 4));
  const end = performance.now() + seconds * 1000;
  let next = performance.now();
  let offset = 0;
  while (performance.now() < end) {
    const events = saleEvents(perBatch, [...targets.slice(offset), ...targets.slice(0, offset)]);
    offset = (offset + perBatch) % targets.length;
    const res = await pipeline.post(events);
    if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
    next += 250;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
}

interface Result {
  scenario: string;
  delays: number[];
  bytes: number[];
  rssMb: number;
  queriesPerSecond: number;
}

function delaysOf(report: { received: Record<string, number[]> }): number[] {
  const delays: number[] = [];
  for (const [cursor, times] of Object.entries(report.received)) {
    const at = seen.get(cursor);
    if (at !== undefined) for (const t of times) delays.push(t - at);
  }
  return delays;
}

async function scenario(
  label: string,
  subs: { feed: string; params: Record<string, string>; count: number }[],
  targets: string[],
): Promise<Result> {
  process.stdout.write(`\n${label}: connecting ${subs.reduce((n, s) => n + s.count, 0)} subscribers… `);
  await fleetSay(JSON.stringify({ url: base, key: ADMIN, subs }));
  process.stdout.write(`sending ${rate} sales/s for ${seconds} s… `);
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 200);
  const q0 = await queriesSoFar();
  const t0 = performance.now();
  await traffic(targets);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // the last deltas arrive
  const queriesPerSecond = ((await queriesSoFar()) - q0) / ((performance.now() - t0) / 1000);
  clearInterval(sampler);
  const report = JSON.parse(await fleetSay('report')) as {
    received: Record<string, number[]>;
    bytes: number[];
  };
  console.log('done');
  return {
    scenario: label,
    delays: delaysOf(report),
    bytes: report.bytes,
    rssMb: rss / 2 ** 20,
    queriesPerSecond,
  };
}

/** The same number of sockets on a bare `ws` server, sent messages of the same sizes at the same pace. */
async function baseline(
  label: string,
  sockets: number,
  sizes: number[],
  deltasPerSecond: number,
): Promise<Result> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const address = wss.address() as { port: number };
  await fleetSay(JSON.stringify({ url: `ws://127.0.0.1:${address.port}`, bare: sockets }));
  const count = Math.max(10, Math.round(deltasPerSecond * seconds));
  const size = Math.round(median(sizes));
  const interval = 1000 / Math.max(1, deltasPerSecond);
  for (let i = 0; i < count; i++) {
    const cursor = `baseline-${label}-${i}-${randomUUID()}`;
    const head = `{"type":"delta","sub":"s","cursor":"${cursor}","upserts":[],"pad":"`;
    const text = head + 'x'.repeat(Math.max(0, size - head.length - 2)) + '"}';
    seen.set(cursor, now());
    for (const client of wss.clients) client.send(text);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const report = JSON.parse(await fleetSay('report')) as {
    received: Record<string, number[]>;
    bytes: number[];
  };
  await new Promise((resolve) => wss.close(resolve));
  return {
    scenario: `${label}: bare ws baseline`,
    delays: delaysOf(report),
    bytes: report.bytes,
    rssMb: NaN,
    queriesPerSecond: NaN,
  };
}

const results: Result[] = [];
try {
  const one = await scenario(
    '1 feed × 1,000 subscribers',
    [{ feed: 'sales_per_minute', params: { event_id: shows[0]! }, count: 1000 }],
    [shows[0]!],
  );
  results.push(one);
  const oneDeltas = one.delays.length / 1000 / seconds;
  results.push(await baseline('1 feed × 1,000', 1000, one.bytes, oneDeltas));
  const many = await scenario(
    '100 feeds × 10 subscribers',
    shows.map((show) => ({ feed: 'sales_per_minute', params: { event_id: show }, count: 10 })),
    shows,
  );
  results.push(many);
  results.push(await baseline('100 feeds × 10', 1000, many.bytes, many.delays.length / 1000 / seconds));
} finally {
  fleet.kill();
  await pipeline.close();
}

const table = new Table({
  head: [
    'scenario',
    'deltas received',
    'delay p50',
    'delay p99',
    'bytes/delta (median)',
    'server RSS (max)',
    'CH queries/s',
  ],
});
for (const r of results) {
  table.push([
    r.scenario,
    r.delays.length,
    fmtMs(median(r.delays)),
    fmtMs(percentile(r.delays, 99)),
    Math.round(median(r.bytes)),
    Number.isNaN(r.rssMb) ? '-' : `${r.rssMb.toFixed(0)} MB`,
    Number.isNaN(r.queriesPerSecond) ? '-' : r.queriesPerSecond.toFixed(1),
  ]);
}
console.log(`\n${table.toString()}`);
console.log(
  'delay: from the poller having a delta (or the baseline calling send) until a client in the fleet process has read it; ' +
    'server RSS: this process (ingest + push server; the clients run in their own process).',
);
