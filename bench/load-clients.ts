/** Starts bench/load-client.ts processes and hears their answers: shared by bench:pipeline's single-node and cluster runs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const REPO = new URL('../', import.meta.url).pathname;

/** One acknowledged request, as bench/load-client.ts prints it. */
export interface Ack {
  tag: string;
  at: number;
  sales: number;
  events: number;
}

/** Starts a load client process with ingest key `key`; `onAck` hears every acknowledged request. */
export function loadClient(key: string, args: string[], onAck: (ack: Ack) => void, onFail: () => void) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'bench/load-client.ts'), '--key', key, ...args],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const done = new Promise<void>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { t: string } & Partial<Ack>;
      if (message.t === 'ack') onAck(message as Ack);
      else if (message.t === 'fail') onFail();
    });
    child.once('exit', () => resolve());
  });
  return { pid: () => child.pid, done };
}

/** Per minute of a sustained run: events acknowledged, and each request's freshness in ms. */
export interface LoadMinute {
  acked: number;
  latencies: number[];
}

export interface SustainedLoadOptions {
  key: string;
  urls: string[];
  /** Events per second, spread over the clients. */
  rate: number;
  clients: number;
  minutes: number;
  batch: number;
  mix: string;
  /** Prefix of the request tags (each request's show). */
  label: string;
  /** Reads ClickHouse: `<database>.sales_per_minute` is polled for each acknowledged request's sales. */
  query: <T>(sql: string) => Promise<T[]>;
  database: string;
}

/**
 * The sustained part of bench:pipeline: `clients` load clients send `rate` events/s for
 * `minutes`, and each acknowledged request's freshness (202 until all its sales are in
 * `sales_per_minute`) is recorded in the minute it was acknowledged. `done` resolves once the
 * clients ended and every request was counted or a minute has passed since.
 */
export function sustainedLoad(options: SustainedLoadOptions) {
  const { minutes, query, database } = options;
  const pending = new Map<string, { at: number; minute: number; sales: number }>();
  const perMinute: LoadMinute[] = Array.from({ length: minutes }, () => ({ acked: 0, latencies: [] }));
  const started = Date.now();
  let failures = 0;
  const clients = Array.from({ length: options.clients }, (_, i) =>
    loadClient(
      options.key,
      [
        '--urls',
        options.urls.join(','),
        '--rate',
        String(options.rate / options.clients),
        '--seconds',
        String(minutes * 60),
        '--batch',
        String(options.batch),
        '--mix',
        options.mix,
        '--label',
        `${options.label}c${i}`,
        '--concurrency',
        '32',
      ],
      (ack) => {
        const minute = Math.min(minutes - 1, Math.floor((ack.at - started) / 60_000));
        perMinute[minute]!.acked += ack.events;
        pending.set(ack.tag, { at: ack.at, minute, sales: ack.sales });
      },
      () => (failures += 1),
    ),
  );
  let sending = true;
  const poller = (async function pollFreshness() {
    while (sending || pending.size > 0) {
      const tags = [...pending.keys()].slice(0, 500);
      if (tags.length > 0) {
        const rows = await query<{ tag: string; n: string }>(
          `SELECT event_id AS tag, sum(orders) AS n FROM ${database}.sales_per_minute
           WHERE event_id IN (${tags.map((t) => `'${t}'`).join(', ')}) GROUP BY tag`,
        ).catch(() => []);
        const now = Date.now();
        for (const r of rows) {
          const s = pending.get(r.tag);
          if (s && Number(r.n) >= s.sales) {
            perMinute[s.minute]?.latencies.push(now - s.at);
            pending.delete(r.tag);
          }
        }
      }
      if (!sending && Date.now() - started > minutes * 60_000 + 60_000) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    started,
    perMinute,
    clientPids: () => clients.map((c) => c.pid()),
    /** Resolves when the clients ended and the freshness poll is done; the requests that failed. */
    done: (async () => {
      await Promise.all(clients.map((c) => c.done));
      sending = false;
      await poller;
      return failures;
    })(),
  };
}
