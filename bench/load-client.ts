/**
 * One load client of `npm run bench:pipeline`, in a process of its own, so that what the API
 * processes spend is theirs alone. Posts requests of `--batch` events to the API URLs in turn,
 * at `--rate` events/s (0: as fast as `--concurrency` requests in flight allow), for `--seconds`
 * or until `--total` sales are acknowledged. Prints one JSON line per answered request:
 *   {"t":"ack","tag":"…","at":<epoch ms>,"sales":n,"events":n}   (a 202)
 *   {"t":"fail","status":503}                                     (anything else; 0: no answer)
 * and, when done, {"t":"done"}.
 *
 * Mixes: `onsale` is an on-sale's traffic, per request 1 sale : 10 interactions : 1 metric, all
 * tagged with the request's own show (its `tag`); `sales` is sales only. With `--show` every
 * request's sales go to that one show (the burst: a single on-sale), else each request is its
 * own show with its own buyers.
 */
import { Command } from 'commander';
import { taggedEvents } from './tagged-events.js';

const opts = new Command('load-client')
  .requiredOption('--urls <list>', 'API base URLs, comma-separated')
  .requiredOption('--key <key>', 'ingest key')
  .option('--rate <n>', 'events per second, 0 = as fast as possible', Number, 0)
  .option('--seconds <n>', 'how long to send', Number, 60)
  .option('--total <n>', 'stop after this many sales are acknowledged (0 = by time)', Number, 0)
  .option('--batch <n>', 'events per request', Number, 1000)
  .option('--mix <mix>', 'onsale or sales', 'onsale')
  .option('--show <id>', 'one show for every sale (the burst)')
  .option('--label <label>', 'prefix of request tags', 'c')
  .option('--concurrency <n>', 'requests in flight at most', Number, 16)
  .parse()
  .opts<{
    urls: string;
    key: string;
    rate: number;
    seconds: number;
    total: number;
    batch: number;
    mix: string;
    show?: string;
    label: string;
    concurrency: number;
  }>();
if (!['onsale', 'sales'].includes(opts.mix)) throw new Error('--mix is onsale or sales');
const urls = opts.urls.split(',').map((u) => `${u}/v1/events`);

/** Sales of this request: for one show (the burst) each request still has buyers of its own. */
function sales(tag: string, n: number): unknown[] {
  const events = taggedEvents('sale', opts.show ?? tag, n) as { data: { user_id: string } }[];
  if (opts.show !== undefined) events.forEach((e, i) => (e.data.user_id = `user-${tag}-${i}`));
  return events;
}

function request(tag: string): { body: string; sales: number } {
  if (opts.mix === 'sales') return { body: JSON.stringify(sales(tag, opts.batch)), sales: opts.batch };
  const saleCount = Math.max(1, Math.round(opts.batch / 12));
  const metrics = saleCount;
  const events = [
    ...sales(tag, saleCount),
    ...taggedEvents('interaction', opts.show ?? tag, opts.batch - saleCount - metrics),
    ...taggedEvents('metric', `bench.${opts.label}`, metrics),
  ];
  return { body: JSON.stringify(events), sales: saleCount };
}

const out = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
const started = Date.now();
const end = started + opts.seconds * 1000;
const interval = opts.rate > 0 ? (opts.batch / opts.rate) * 1000 : 0;
const inFlight = new Set<Promise<void>>();
let due = performance.now();
let acknowledgedSales = 0;
let sentSales = 0;
let seq = 0;

function more(): boolean {
  return opts.total > 0 ? sentSales < opts.total : Date.now() < end;
}

while (more()) {
  if (interval > 0) {
    due += interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  if (inFlight.size >= opts.concurrency) await Promise.race(inFlight);
  const tag = `${opts.label}-${seq}`;
  const url = urls[seq % urls.length]!;
  seq += 1;
  const { body, sales } = request(tag);
  sentSales += sales;
  const sent: Promise<void> = fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.key}`, 'content-type': 'application/json' },
    body,
  })
    .then(async (res) => {
      await res.arrayBuffer();
      if (res.status !== 202) return out({ t: 'fail', status: res.status });
      acknowledgedSales += sales;
      out({ t: 'ack', tag, at: Date.now(), sales, events: opts.batch });
    })
    .catch(() => out({ t: 'fail', status: 0 }))
    .finally(() => inFlight.delete(sent));
  inFlight.add(sent);
}
await Promise.all(inFlight);
out({ t: 'done', sales: acknowledgedSales });
