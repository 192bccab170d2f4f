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
import { Agent, request as httpRequest } from 'node:http';
import { Command } from 'commander';
import { bodyTemplate, fillBody, ID, TAG, TS } from './body-template.js';
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

/** Per request 1 sale : 10 interactions : 1 metric (onsale), or only sales. */
const SALES_PER_REQUEST = opts.mix === 'sales' ? opts.batch : Math.max(1, Math.round(opts.batch / 12));

/**
 * The events of one request, with markers where each request has its own values
 * (bench/body-template.ts): ids, the timestamp, and the tag (the request's show and buyers; with
 * `--show`, the burst's one show, each request still with buyers of its own).
 */
function templateEvents(): unknown[] {
  const saleCount = SALES_PER_REQUEST;
  const sales = taggedEvents('sale', opts.show ?? TAG, saleCount) as {
    data: { user_id: string; order_id: string };
  }[];
  sales.forEach((e, i) => {
    e.data.user_id = `user-${TAG}-${i}`;
    e.data.order_id = `order-${ID}`;
  });
  const events: unknown[] =
    opts.mix === 'sales'
      ? sales
      : [
          ...sales,
          ...taggedEvents('interaction', opts.show ?? TAG, opts.batch - 2 * saleCount),
          ...taggedEvents('metric', `bench.${opts.label}`, saleCount),
        ];
  for (const e of events as { id: string; timestamp: string }[]) {
    e.id = ID;
    e.timestamp = TS;
  }
  return events;
}

const template = bodyTemplate(templateEvents());

function request(tag: string): { body: string; sales: number } {
  return { body: fillBody(template, new Date().toISOString(), tag), sales: SALES_PER_REQUEST };
}

// node:http with kept-alive sockets: undici's fetch cost the client several µs per event more.
const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
const headers = { authorization: `Bearer ${opts.key}`, 'content-type': 'application/json' };

/**
 * POSTs `body` and resolves with the status once the answer has been read. A kept-alive socket
 * the server closed just as the request went out fails with ECONNRESET before any answer; that
 * request is sent once more on a new socket (Node's documented pattern, `req.reusedSocket`). The
 * ids are the same, so the API's dedup counts it once either way.
 */
function post(url: string, body: string, retried = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') resolve(post(url, body, true));
      else reject(err);
    });
    req.end(body);
  });
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
  const sent: Promise<void> = post(url, body)
    .then((status) => {
      if (status !== 202) return out({ t: 'fail', status });
      acknowledgedSales += sales;
      out({ t: 'ack', tag, at: Date.now(), sales, events: opts.batch });
    })
    .catch(() => out({ t: 'fail', status: 0 }))
    .finally(() => inFlight.delete(sent));
  inFlight.add(sent);
}
await Promise.all(inFlight);
out({ t: 'done', sales: acknowledgedSales });
