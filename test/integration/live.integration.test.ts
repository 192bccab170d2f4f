// The push protocol on the real stack: a client's tables rebuilt from snapshot + deltas equal
// the views row for row, a cursor resumes across a kill -9 of the push process with no gap and
// no duplicate, an organizer's key sees only its own shows (and only from allowed origins), and
// live tokens: minted from a read key, passed in the subprotocol or a first auth message,
// refused when expired, forged or of a revoked key, and bound to their organizer.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANGES_APPLICATION_NAME } from '../../src/clients/pg-changes.js';
import { VIEW_FEEDS } from '../../src/push/feeds.js';
import { ticketSale } from '../fixtures/events.js';
import { config, eventually, freePort } from './helpers.js';
import { LiveTestClient, type LiveAuth } from './live-client.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';
import { GA, showBody, VIP } from '../fixtures/shows.js';

const ADMIN = 'test-admin-key-live';
const A = randomUUID();
const B = randomUUID();
const REPO = new URL('../../', import.meta.url).pathname;
/** Shared by this file's pipeline and the push process it starts, as a deployment would. */
const TOKEN_SECRET = 'test-live-token-secret-0123456789abcdef';
const AUTH_TIMEOUT_MS = 1000;

let p: TestPipeline;
let baseUrl: string;
let readKeyA: string;
let readKeyAId: string;
let readKeyB: string;
const clients: LiveTestClient[] = [];

/** An admin request to the service in-process. */
const call = (method: string, path: string, body?: unknown) => p.request(method, path, ADMIN, body);

/** POST /v1/live/tokens with `key`. */
async function mint(key: string | undefined) {
  const res = await p.app.request('/v1/live/tokens', {
    method: 'POST',
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function tokenFor(key: string): Promise<string> {
  const minted = await mint(key);
  expect(minted.status).toBe(201);
  return minted.body.token as string;
}

/** Opens /v1/live: with a fresh token of readKeyA in the subprotocol unless told otherwise. */
async function connect(auth?: string | LiveAuth, headers: Record<string, string> = {}, url = baseUrl) {
  const client = await LiveTestClient.connect(
    url,
    auth ?? { token: await tokenFor(readKeyA), via: 'protocol' },
    headers,
  );
  clients.push(client);
  return client;
}

/** The close (code and reason) of a connection the server ends before hello. */
async function refusedAfterUpgrade(auth: LiveAuth): Promise<string> {
  const error = await connect(auth).then(
    () => 'connected',
    (err: Error) => err.message,
  );
  return error;
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
  p = await createTestPipeline('live', {
    env: {
      TICKETPULSE_ROLES: 'api,bridge,push',
      ADMIN_API_KEY: ADMIN,
      LIVE_POLL_INTERVAL_MS: '100',
      LIVE_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS),
      LIVE_TOKEN_SECRET: TOKEN_SECRET,
    },
  });
  baseUrl = await p.listen();
  for (const [id, name, showId] of [
    [A, 'Organizer A', 'show-a'],
    [B, 'Organizer B', 'show-b'],
  ] as const) {
    expect((await call('POST', '/v1/organizers', { id, name })).status).toBe(201);
    const created = await call(
      'POST',
      '/v1/shows',
      showBody(showId, id, {
        name: showId,
        categories: [GA, VIP, { category: 'FOH', capacity: 300, price: '79.90', currency: 'EUR' }],
      }),
    );
    expect(created.status).toBe(201);
  }
  const key = await call('POST', `/v1/organizers/${A}/keys`, { scopes: ['read'] });
  expect(key.status).toBe(201);
  readKeyA = key.body.key as string;
  readKeyAId = key.body.id as string;
  const keyB = await call('POST', `/v1/organizers/${B}/keys`, { scopes: ['read'] });
  expect(keyB.status).toBe(201);
  readKeyB = keyB.body.key as string;
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await p?.close();
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
    expect(await client.snapshots(3, 10_000)).toBe(3);
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
    client.subscribe('unknown', 'sales_per_minute', { event_id: 'show-zz' });
    client.subscribe('all', 'sales_per_minute', {});
    client.subscribe('metrics', 'metrics_per_minute', {});
    client.subscribe('shows', 'shows', { organizer_id: B });
    client.subscribe('nope', 'no_such_feed', {});
    client.subscribe('bad', 'sales_per_minute', { event_id: 'show-a', colour: 'red' });
    const errors = await eventually(
      async () => client.messages.filter((m) => m.type === 'error'),
      (e) => e.length === 7,
      10_000,
    );
    const bySub = Object.fromEntries(errors.map((e) => [e.sub, `${e.code}: ${e.message}`]));
    expect(bySub).toEqual({
      other: "forbidden: show 'show-b' belongs to another organizer",
      unknown: "not_found: unknown show 'show-zz': register it with POST /v1/shows first",
      all: 'forbidden: an organizer key must name one of its shows in params.event_id',
      metrics: "forbidden: feed 'metrics_per_minute' is for platform keys only",
      shows: `forbidden: an organizer key must set params.organizer_id to its own organizer ('${A}')`,
      nope: expect.stringMatching(/^unknown_feed: no feed 'no_such_feed'; feeds: .*sales_per_minute/),
      bad: expect.stringMatching(/^bad_params: unknown param 'colour'/),
    });
    expect(client.messages.some((m) => m.type === 'snapshot')).toBe(false);
  });

  it('refuses a wrong Origin, an unknown key and a key without read scope before the upgrade', async () => {
    await expect(connect(undefined, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect(readKeyA, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect('not-a-key-at-all')).rejects.toThrow('HTTP 401');
    const ingestOnly = await call('POST', `/v1/organizers/${A}/keys`, { scopes: ['ingest'] });
    await expect(connect(ingestOnly.body.key as string)).rejects.toThrow('HTTP 403');
    const sameOrigin = await connect(undefined, { origin: baseUrl });
    expect(sameOrigin.messages[0]).toMatchObject({ type: 'hello', protocol: 'ticketpulse.live.v1' });
  });

  it('resumes from a cursor across a kill -9 of the push process, with no gap and no duplicate', async () => {
    const port = await freePort();
    const start = () => startPushProcess(port);
    let push = await start();
    const url = `http://127.0.0.1:${port}`;
    try {
      const client = await connect(undefined, {}, url);
      client.subscribe('m', 'sales_per_minute', { event_id: 'show-a' });
      client.subscribe('q', 'category_sales_live', { show_id: 'show-a' });
      expect(await client.snapshots(2, 15_000)).toBe(2);
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

      // A token minted by the other process: the same LIVE_TOKEN_SECRET.
      const resumed = await connect(undefined, {}, url);
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

describe('live tokens', () => {
  it('POST /v1/live/tokens mints one for a read key: 401 without a key, 403 for an ingest-only key', async () => {
    const before = Date.now();
    const minted = await mint(readKeyA);
    expect(minted.status).toBe(201);
    expect(minted.headers.get('cache-control')).toBe('no-store');
    expect(minted.body).toEqual({
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      expires_at: expect.any(String),
      expires_in: config.LIVE_TOKEN_TTL_SECONDS,
    });
    const expiresAt = Date.parse(minted.body.expires_at as string);
    expect(expiresAt).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) * 1000 + config.LIVE_TOKEN_TTL_SECONDS * 1000,
    );
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + config.LIVE_TOKEN_TTL_SECONDS * 1000);
    expect((await mint(ADMIN)).status).toBe(201); // a platform key too

    const missing = await mint(undefined);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await mint('tp_not-a-key')).status).toBe(401);
    const ingestOnly = await call('POST', `/v1/organizers/${A}/keys`, { scopes: ['ingest'] });
    const refused = await mint(ingestOnly.body.key as string);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      error: { code: 'forbidden', message: "this key lacks the 'read' scope" },
    });

    const doc = (await (await p.app.request('/v1/openapi.json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(doc.paths['/v1/live/tokens']!.post!.responses).sort()).toEqual([
      '201',
      '401',
      '403',
      '503',
    ]);
  });

  it('connects with a token in the subprotocol or a first auth message, without the key in the URL, and streams deltas', async () => {
    const viaProtocol = await connect({ token: await tokenFor(readKeyA), via: 'protocol' });
    const viaMessage = await connect({ token: await tokenFor(readKeyA), via: 'message' });
    // The server selects the protocol alone, never echoing the token.
    expect(viaProtocol.socket.protocol).toBe('ticketpulse.live.v1');
    expect(viaProtocol.socket.url).toBe(`${baseUrl.replace(/^http/, 'ws')}/v1/live`);
    expect(viaProtocol.upgradeHeaders.deprecation).toBeUndefined();
    for (const client of [viaProtocol, viaMessage]) {
      expect(client.messages[0]).toMatchObject({ type: 'hello', protocol: 'ticketpulse.live.v1' });
      client.subscribe('m', 'sales_per_minute', { event_id: 'show-a' });
    }
    await eventually(
      async () => viaProtocol.subs.size + viaMessage.subs.size,
      (n) => n === 2,
      10_000,
    );
    await sell(5);
    for (const client of [viaProtocol, viaMessage]) {
      const minute = await converge(client, 'm', () =>
        view('sales_per_minute', "event_id = 'show-a'", 'window_start'),
      );
      expect(minute.got).toEqual(minute.want);
      expect(client.messages.filter((m) => m.type === 'delta').length).toBeGreaterThan(0);
    }
    // An auth message on an authenticated connection is an error, not a second login.
    viaMessage.socket.send(JSON.stringify({ type: 'auth', token: 'x' }));
    const error = await viaMessage.firstError(5000);
    expect(error).toEqual({
      type: 'error',
      sub: null,
      code: 'bad_message',
      message: 'already authenticated',
    });
  });

  it('refuses an expired or forged token: 401 before the upgrade, close 4001 after an auth message', async () => {
    const claims = { aud: 'ticketpulse.live', sub: `organizer:${A}`, key_id: readKeyAId, scope: 'read' };
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign({ ...claims, iat: now - 301, exp: now - 1 }, TOKEN_SECRET, 'HS256');
    const forged = await sign(
      { ...claims, iat: now, exp: now + 300 },
      'another-secret-0123456789abcdefghij',
      'HS256',
    );
    const good = await sign({ ...claims, iat: now, exp: now + 300 }, TOKEN_SECRET, 'HS256');
    await expect(connect({ token: expired, via: 'protocol' })).rejects.toThrow('HTTP 401');
    await expect(connect({ token: forged, via: 'protocol' })).rejects.toThrow('HTTP 401');
    expect(await refusedAfterUpgrade({ token: expired, via: 'message' })).toBe(
      'closed 4001: the live token has expired: mint a new one (POST /v1/live/tokens)',
    );
    expect(await refusedAfterUpgrade({ token: forged, via: 'message' })).toBe(
      'closed 4001: the live token is not valid (malformed, or signed with another secret)',
    );
    // The same claims signed with the secret work: only the expiry or the signature was wrong.
    expect((await connect({ token: good, via: 'protocol' })).messages[0]).toMatchObject({ type: 'hello' });
  });

  it('closes a connection that does not authenticate first, or not in time', async () => {
    const start = Date.now();
    const silent = new (await import('ws')).default(`${baseUrl.replace(/^http/, 'ws')}/v1/live`);
    const closed = await new Promise<string>((resolve) =>
      silent.once('close', (code, reason) => resolve(`${code}: ${String(reason)}`)),
    );
    expect(closed).toBe(`4001: no auth message within ${AUTH_TIMEOUT_MS} ms`);
    expect(Date.now() - start).toBeGreaterThanOrEqual(AUTH_TIMEOUT_MS - 50);

    const eager = new (await import('ws')).default(`${baseUrl.replace(/^http/, 'ws')}/v1/live`);
    eager.once('open', () =>
      eager.send(JSON.stringify({ type: 'subscribe', sub: 'm', feed: 'sales_per_minute', params: {} })),
    );
    const messages: unknown[] = [];
    eager.on('message', (data) => messages.push(JSON.parse(String(data))));
    const refused = await new Promise<string>((resolve) =>
      eager.once('close', (code, reason) => resolve(`${code}: ${String(reason)}`)),
    );
    expect(refused).toBe('4001: authenticate first: send {"type":"auth","token":…}');
    expect(messages).toEqual([]); // not even hello
  });

  it("binds a token to its organizer: organizer B's token cannot watch show-a", async () => {
    const client = await connect({ token: await tokenFor(readKeyB), via: 'message' });
    client.subscribe('a', 'sales_per_minute', { event_id: 'show-a' });
    client.subscribe('b', 'sales_per_minute', { event_id: 'show-b' });
    const error = await client.firstError(10_000);
    expect(error).toEqual({
      type: 'error',
      sub: 'a',
      code: 'forbidden',
      message: "show 'show-a' belongs to another organizer",
    });
    await eventually(
      async () => client.subs.has('b'),
      (has) => has,
      10_000,
    );
    expect(client.subs.has('a')).toBe(false);
  });

  it('revoking a key closes its open connections (4001) and refuses its tokens through the change feed', async () => {
    const created = await call('POST', `/v1/organizers/${A}/keys`, { scopes: ['read'] });
    const key = created.body.key as string;
    const token = await tokenFor(key);
    const open = [
      await connect({ token, via: 'protocol' }),
      await connect({ token, via: 'message' }),
      await connect(key), // the deprecated ?key= is watched too
    ];
    for (const client of open) client.subscribe('m', 'sales_per_minute', { event_id: 'show-a' });

    const revokedAt = Date.now();
    expect((await call('DELETE', `/v1/keys/${created.body.id as string}`)).status).toBe(200);
    const closes = await eventually(
      async () => open.map((c) => c.closed),
      (all) => all.every((c) => c !== undefined),
      5000,
      20,
    );
    const closedAfterMs = Date.now() - revokedAt;
    expect(closes).toEqual(open.map(() => ({ code: 4001, reason: 'the API key was revoked' })));
    // Well within the token's lifetime: the change feed, not the expiry, ended them.
    expect(closedAfterMs).toBeLessThan(5000);
    console.log(
      `revoked key: its ${open.length} connections closed ${closedAfterMs} ms after DELETE /v1/keys`,
    );

    await expect(connect({ token, via: 'protocol' })).rejects.toThrow('HTTP 401');
    expect(await refusedAfterUpgrade({ token, via: 'message' })).toBe(
      'closed 4001: the API key of this live token was revoked',
    );
    expect((await mint(key)).status).toBe(401);
  });

  it('learns of a revocation made while its change feed was down once the feed is back', async () => {
    const created = await call('POST', `/v1/organizers/${A}/keys`, { scopes: ['read'] });
    const token = await tokenFor(created.body.key as string);
    const client = await connect({ token, via: 'message' });
    // Cut this pipeline's LISTEN connection and revoke the key before it is back (its first
    // retry waits 250 ms): the notification is lost, and the resync must find the revocation.
    const killed = await p.entities!.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`,
      [new URL(p.postgres.url).pathname.slice(1), CHANGES_APPLICATION_NAME],
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    await p
      .entities!.db.updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('id', '=', created.body.id as string)
      .execute();
    const closed = await eventually(
      async () => client.closed,
      (c) => c !== undefined,
      15_000,
    );
    expect(closed).toEqual({ code: 4001, reason: 'the API key was revoked' });
    await expect(connect({ token, via: 'protocol' })).rejects.toThrow('HTTP 401');
  });

  it('still accepts the deprecated ?key=, with a Deprecation header on the upgrade', async () => {
    const client = await connect(readKeyA);
    expect(client.messages[0]).toMatchObject({ type: 'hello' });
    expect(client.upgradeHeaders.deprecation).toBe('@1796256000');
  });
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
      DATABASE_URL: p.postgres.url,
      ADMIN_API_KEY: ADMIN,
      LIVE_TOKEN_SECRET: TOKEN_SECRET,
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
