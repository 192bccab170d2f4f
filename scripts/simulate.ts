/**
 * `npm run simulate -- [--rate 200] [--duration 60] [--shows 5] [--seed 42]`: registers the demo
 * organizer and its shows through the entity API, then sends realistic traffic through
 * POST /v1/events, with a progress line every second.
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../src/config.js';
import { createTrafficModel } from '../src/simulate/traffic-model.js';
import { registerDemoShows } from '../src/simulate/register-shows.js';

function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
    return n;
  };
}

const config = loadConfig();
const program = new Command('simulate')
  .description('post realistic ticketing traffic to the ingest API')
  .option('--rate <events/s>', 'target events per second', positive('rate'), 200)
  .option('--duration <s>', 'seconds to run; 0 runs until Ctrl-C', positive('duration'), 60)
  .option('--shows <n>', 'number of shows', positive('shows'), 5)
  .option('--seed <n>', 'random seed', positive('seed'), 42)
  .option('--malformed <share>', 'share of malformed records (0..1)', positive('malformed'), 0.01)
  .option('--url <url>', 'API base URL', `http://${config.HOST}:${config.PORT}`)
  .option('--key <key>', 'API key', [...config.INGEST_API_KEYS.keys()][0])
  .option('--admin-key <key>', 'platform admin key, to register the shows', config.ADMIN_API_KEY)
  .option('--no-register', 'send events for shows that are not registered')
  .parse();

const opts = program.opts<{
  rate: number;
  duration: number;
  shows: number;
  seed: number;
  malformed: number;
  url: string;
  key: string;
  adminKey: string;
  register: boolean;
}>();

const model = createTrafficModel({ shows: opts.shows, seed: opts.seed, malformedShare: opts.malformed });
const totals = { sent: 0, accepted: 0, rejected: 0, errors: 0, requests: 0 };
const statuses = new Map<number, number>();
let lastError = '';
const started = Date.now();
let stopping = false;
process.once('SIGINT', () => (stopping = true));
process.once('SIGTERM', () => (stopping = true));

async function post(records: unknown[]): Promise<void> {
  totals.requests += 1;
  totals.sent += records.length;
  try {
    const res = await fetch(`${opts.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(records),
    });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status === 202 || res.status === 400) {
      const body = (await res.json()) as { accepted: number; rejected: unknown[] };
      totals.accepted += body.accepted;
      totals.rejected += body.rejected.length;
    } else {
      totals.errors += records.length;
      lastError = `HTTP ${res.status}: ${(await res.text()).slice(0, 120)}`;
    }
  } catch (err) {
    totals.errors += records.length;
    lastError = (err as Error).message;
  }
}

function progress(final = false): void {
  const seconds = (Date.now() - started) / 1000;
  const line =
    `t=${seconds.toFixed(0)}s rate=${(totals.sent / Math.max(seconds, 0.001)).toFixed(0)}/s ` +
    `sent=${totals.sent} accepted=${totals.accepted} rejected=${totals.rejected} errors=${totals.errors}` +
    (lastError ? ` last_error="${lastError}"` : '');
  if (process.stdout.isTTY && !final) process.stdout.write(`\r${line.padEnd(100)}`);
  else console.log(line);
}

if (opts.register) {
  const created = await registerDemoShows({ url: opts.url, adminKey: opts.adminKey, shows: model.shows });
  console.log(
    `registered ${created} new shows (${opts.shows - created} existed already) for the demo organizer`,
  );
}
console.log(
  `simulating ${opts.shows} shows at ${opts.rate} events/s for ${opts.duration || '∞'} s (seed ${opts.seed}) -> ${opts.url}`,
);
console.log(
  `fraud patterns: very large orders, ${model.velocityUser} buying ~10 times a minute, far-away buyers`,
);
const ticker = setInterval(() => progress(), 1000);
const TICK_MS = 200;
let due = 0;
let lastVelocity = 0;
while (!stopping && (opts.duration === 0 || Date.now() - started < opts.duration * 1000)) {
  const tickStart = Date.now();
  const t = (tickStart - started) / 1000;
  due += (opts.rate * TICK_MS) / 1000;
  const opened = model.openDueShows(t);
  if (opened.length > 0 && opts.register) {
    await registerDemoShows({ url: opts.url, adminKey: opts.adminKey, shows: opened }).catch(
      (err: unknown) => {
        lastError = `registering ${opened.map((s) => s.id).join(', ')}: ${(err as Error).message}`;
      },
    );
  }
  if (opened.length > 0) console.log(`\nopened ${opened.map((s) => s.id).join(', ')} (on sale in 10 s)`);
  const records: unknown[] = [];
  while (due >= 1) {
    records.push(model.next(t));
    due -= 1;
  }
  if (t - lastVelocity >= 3) {
    records.push(model.velocitySale(t));
    lastVelocity = t;
  }
  if (records.length > 0) await post(records);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, TICK_MS - (Date.now() - tickStart))));
}
clearInterval(ticker);
progress(true);
console.log(`HTTP statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
process.exit(totals.errors > 0 ? 1 : 0);
