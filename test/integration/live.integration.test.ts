// The push protocol on the real stack: a client's tables rebuilt from snapshot + deltas equal
// the views row for row, a cursor resumes across a kill -9 of the push process with no gap and
// no duplicate, and an organizer's key sees only its own shows (and only from allowed origins).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VIEW_FEEDS } from '../../src/push/feeds.js';
import { ticketSale } from '../fixtures/events.js';
import { config, createTestDatabase, eventually, freePort } from './helpers.js';
import { LiveTestClient } from './live-client.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

const ADMIN = 'test-admin-key-live';
const A = randomUUID();
const B = randomUUID();
const REPO = new URL('../../', import.meta.url).pathname;

let pg: Awaited<ReturnType<typeof createTestDatabase>>;
let p: TestPipeline;
let baseUrl: string;
let readKeyA: string;
const clients: LiveTestClient[] = [];

async function call(method: string, path: string, body?: unknown) {
  const res = await p.app.request(path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function connect(key = readKeyA, headers: Record<string, string> = {}, url = baseUrl) {
  const client = await LiveTestClient.connect(url, key, headers);
  clients.push(client);
  return client;
}

/** Posts sales of show-a and waits until ClickHouse counted them. */
async function sell(count: number, minutesAgo = 0) {
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  const events = Array.from({ length: count }, (_, i) =>
    ticketSale(
      { timestamp: at },
      {
        event_id: 'show-a',
        category: ['GA', 'VIP', 'FOH'][i % 3],
        quantity: 1 + (i % 4),
        user_id: `u-${i % 7}`,
      },
    ),
  );
  expect((await p.post(events)).status).toBe(202);
  await p.waitForSales(events.map((e) => e.id));
}

/** Rows as the push role reads them (64-bit integers as JSON numbers). */
async function rows(query: string): Promise<Record<string, unknown>[]> {
  const result = await p.clickhouse.query({
    query,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return result.json();
}

const view = (name: string, where: string, order: string) =>
  rows(`SELECT * FROM ${p.database}.${name} WHERE ${where} ORDER BY ${order}`);

const categorySales = () =>
  rows(
    `SELECT category, sum(quantity) AS tickets, count() AS orders, sum(amount) AS revenue, max(ingested_at) AS last_counted_at
     FROM ${p.database}.ticket_sales WHERE event_id = 'show-a' GROUP BY category`,
  );

const sortedBy = (key: string[]) => (rows: Record<string, unknown>[]) =>
  rows
    .map((row) => [JSON.stringify(key.map((k) => row[k])), row] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row);

/** Waits until the client's table for `sub` equals `expected()`; returns both for the assertion. */
async function converge(
  client: LiveTestClient,
  sub: string,
  expected: () => Promise<Record<string, unknown>[]>,
) {
  const key = () => client.subs.get(sub)?.key ?? [];
  return eventually(
    async () => ({ got: client.table(sub), want: sortedBy(key())(await expected()) }),
    ({ got, want }) => want.length > 0 && JSON.stringify(got) === JSON.stringify(want),
    20_000,
    100,
  );
}

beforeAll(async () => {
  pg = await createTestDatabase('tp_live');
  p = await createTestPipeline('live', {
    postgres: { url: pg.url, adminKey: ADMIN },
    live: { pollIntervalMs: 100 },
  });
  baseUrl = await p.listen();
  for (const [id, name, showId] of [
    [A, 'Organizer A', 'show-a'],
    [B, 'Organizer B', 'show-b'],
  ] as const) {
    expect((await call('POST', '/v1/organizers', { id, name })).status).toBe(201);
    const created = await call('POST', '/v1/shows', {
      id: showId,
      organizer_id: id,
      name: showId,
      venue: 'Arena',
      country: 'DE',
      timezone: 'Europe/Berlin',
      starts_at: '2027-03-01T20:00:00+01:00',
      categories: [
        { category: 'GA', capacity: 1000, price: '49.90', currency: 'EUR' },
        { category: 'VIP', capacity: 100, price: '149.90', currency: 'EUR' },
        { category: 'FOH', capacity: 300, price: '79.90', currency: 'EUR' },
      ],
    });
    expect(created.status).toBe(201);
  }
  const key = await call('POST', `/v1/organizers/${A}/keys`, { scopes: ['read'] });
  expect(key.status).toBe(201);
  readKeyA = key.body.key as string;
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await p?.close();
  await pg?.drop();
});

describe('GET /v1/live', () => {
  it('streams every analyst view (a new view without a feed fails here)', async () => {
    const views = await p.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = '${p.database}' AND engine = 'View' ORDER BY name`,
    );
    expect(VIEW_FEEDS.map((f) => f.name).sort()).toEqual(views.map((v) => v.name));
  });

  it('rebuilds the views exactly from snapshot + deltas', async () => {
    await sell(9, 2);
    const client = await connect();
    client.subscribe('m', 'sales_per_minute', { event_id: 'show-a' });
    client.subscribe('c', 'capacity_status', { event_id: 'show-a' });
    client.subscribe('q', 'category_sales_live', { show_id: 'show-a' });
    await eventually(
      async () => client.subs.size,
      (n) => n === 3,
      10_000,
    );
    await sell(12, 1); // a late minute: an existing window changes
    await sell(30);
    const minute = await converge(client, 'm', () =>
      view('sales_per_minute', "event_id = 'show-a'", 'window_start'),
    );
    expect(minute.got).toEqual(minute.want);
    const capacity = await converge(client, 'c', () =>
      view('capacity_status', "event_id = 'show-a'", 'category'),
    );
    expect(capacity.got).toEqual(capacity.want);
    const live = await converge(client, 'q', categorySales);
    expect(live.got).toEqual(live.want);
    expect(live.got.reduce((n, r) => n + Number(r.orders), 0)).toBe(51);
    for (const sub of ['m', 'c', 'q']) expect(client.subs.get(sub)!.duplicates).toBe(0);
    expect(client.messages.filter((m) => m.type === 'delta').length).toBeGreaterThan(0);
  });

  it("refuses another organizer's show, platform feeds, and unknown feeds", async () => {
    const client = await connect();
    client.subscribe('other', 'sales_per_minute', { event_id: 'show-b' });
    client.subscribe('all', 'sales_per_minute', {});
    client.subscribe('metrics', 'metrics_per_minute', {});
    client.subscribe('shows', 'shows', { organizer_id: B });
    client.subscribe('nope', 'no_such_feed', {});
    client.subscribe('bad', 'sales_per_minute', { event_id: 'show-a', colour: 'red' });
    const errors = await eventually(
      async () => client.messages.filter((m) => m.type === 'error'),
      (e) => e.length === 6,
      10_000,
    );
    const bySub = Object.fromEntries(errors.map((e) => [e.sub, `${e.code}: ${e.message}`]));
    expect(bySub).toEqual({
      other: "forbidden: show 'show-b' belongs to another organizer",
      all: 'forbidden: an organizer key must name one of its shows in params.event_id',
      metrics: "forbidden: feed 'metrics_per_minute' is for platform keys only",
      shows: `forbidden: an organizer key must set params.organizer_id to its own organizer ('${A}')`,
      nope: expect.stringMatching(/^unknown_feed: no feed 'no_such_feed'; feeds: .*sales_per_minute/),
      bad: expect.stringMatching(/^bad_params: unknown param 'colour'/),
    });
    expect(client.messages.some((m) => m.type === 'snapshot')).toBe(false);
  });

  it('refuses a wrong Origin, a missing key and a key without read scope before the upgrade', async () => {
    await expect(connect(readKeyA, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect('not-a-key-at-all')).rejects.toThrow('HTTP 401');
    const ingestOnly = await call('POST', `/v1/organizers/${A}/keys`, { scopes: ['ingest'] });
    await expect(connect(ingestOnly.body.key as string)).rejects.toThrow('HTTP 403');
    const sameOrigin = await connect(readKeyA, { origin: baseUrl });
    expect(sameOrigin.messages[0]).toMatchObject({ type: 'hello', protocol: 'ticketpulse.live.v1' });
  });

  it('resumes from a cursor across a kill -9 of the push process, with no gap and no duplicate', async () => {
    const port = await freePort();
    const start = () => startPushProcess(port);
    let push = await start();
    const url = `http://127.0.0.1:${port}`;
    try {
      const client = await connect(readKeyA, {}, url);
      client.subscribe('m', 'sales_per_minute', { event_id: 'show-a' });
      client.subscribe('q', 'category_sales_live', { show_id: 'show-a' });
      await eventually(
        async () => client.subs.size,
        (n) => n === 2,
        15_000,
      );
      await sell(6);
      await converge(client, 'm', () => view('sales_per_minute', "event_id = 'show-a'", 'window_start'));

      push.kill('SIGKILL');
      await eventually(
        async () => client.closed,
        (c) => c !== undefined,
        10_000,
      );
      await sell(8); // while no push process runs
      await sell(5, 3); // and a late one into an old window
      push = await start();

      const resumed = await connect(readKeyA, {}, url);
      for (const [sub, feed, params] of [
        ['m', 'sales_per_minute', { event_id: 'show-a' }],
        ['q', 'category_sales_live', { show_id: 'show-a' }],
      ] as const) {
        // The client carries its tables over and resumes each with its cursor.
        resumed.subs.set(sub, { ...client.subs.get(sub)!, duplicates: 0 });
        resumed.subscribe(sub, feed, params, client.subs.get(sub)!.cursor);
      }
      await sell(4);
      const minute = await converge(resumed, 'm', () =>
        view('sales_per_minute', "event_id = 'show-a'", 'window_start'),
      );
      expect(minute.got).toEqual(minute.want);
      const live = await converge(resumed, 'q', categorySales);
      expect(live.got).toEqual(live.want);
      expect(resumed.messages.filter((m) => m.type === 'snapshot')).toEqual([]);
      expect(resumed.messages.filter((m) => m.type === 'control')).toEqual([]);
      for (const sub of ['m', 'q']) expect(resumed.subs.get(sub)!.duplicates).toBe(0);
    } finally {
      push.kill('SIGKILL');
    }
  }, 90_000);
});

/** `npm start` with only the push role, on this test's databases; resolves once it listens. */
async function startPushProcess(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      TICKETPULSE_ROLES: 'push',
      PORT: String(port),
      CLICKHOUSE_URL: config.CLICKHOUSE_URL,
      CLICKHOUSE_DATABASE: p.database,
      DATABASE_URL: pg.url,
      ADMIN_API_KEY: ADMIN,
      LIVE_POLL_INTERVAL_MS: '100',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const up = await eventually(
    () =>
      fetch(`http://127.0.0.1:${port}/healthz`)
        .then(() => true)
        .catch(() => false),
    (ok) => ok || child.exitCode !== null,
    30_000,
    100,
  );
  if (!up) throw new Error(`the push process exited (${child.exitCode}) before listening`);
  return child;
}
