// Organizers, shows and keys on the real Postgres, and what they scope on the real pipeline:
// an organizer's keys send and see only its own shows, a revoked key is refused everywhere
// (through the change feed), and the entity API answers with the house errors. How soon a
// revocation or a capacity arrives is timed by `npm run bench:propagation`, not asserted here:
// a deadline of a second failed once in a clean-clone CI run that shared its cores.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../src/auth/key-store.js';
import { CHANGES_APPLICATION_NAME, createPgChanges } from '../../src/clients/pg-changes.js';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { createDb } from '../../src/db/schema.js';
import { ticketSale } from '../fixtures/events.js';
import { eventually } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

const ADMIN = 'test-admin-key-123';
const A = randomUUID();
const B = randomUUID();

let pipeline: TestPipeline;
const keys: Record<string, { id: string; key: string }> = {};

const call = (method: string, path: string, key: string | undefined, body?: unknown) =>
  pipeline.request(method, path, key, body);

function show(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: `Show ${id}`,
    venue: 'Arena',
    country: 'DE',
    timezone: 'Europe/Berlin',
    starts_at: '2027-03-01T20:00:00+01:00',
    categories: [{ category: 'GA', capacity: 100, price: '49.90', currency: 'EUR' }],
    ...overrides,
  };
}

const sale = (showId: string) => ticketSale({}, { event_id: showId, order_id: `o-${randomUUID()}` });

beforeAll(async () => {
  pipeline = await createTestPipeline('tenancy', { env: { ADMIN_API_KEY: ADMIN } });
  for (const [id, name] of [
    [A, 'Organizer A'],
    [B, 'Organizer B'],
  ]) {
    expect((await call('POST', '/v1/organizers', ADMIN, { id, name })).status).toBe(201);
  }
  for (const [name, organizer, scopes] of [
    ['aAdmin', A, ['admin']],
    ['aIngest', A, ['ingest']],
    ['aRead', A, ['read']],
    ['bAdmin', B, ['admin']],
  ] as const) {
    const created = await call('POST', `/v1/organizers/${organizer}/keys`, ADMIN, { scopes });
    expect(created.status).toBe(201);
    expect(created.body.scopes).toEqual(scopes);
    keys[name] = { id: created.body.id, key: created.body.key };
  }
  expect((await call('POST', '/v1/shows', keys.aAdmin!.key, show('show-a'))).status).toBe(201);
  expect((await call('POST', '/v1/shows', keys.bAdmin!.key, show('show-b'))).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await pipeline?.close();
});

describe('the entity API', () => {
  it('serves an OpenAPI document built from the same schemas', async () => {
    const { status, body } = await call('GET', '/v1/openapi.json', undefined);
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/organizers',
        '/v1/organizers/{id}/keys',
        '/v1/keys/{id}',
        '/v1/shows',
        '/v1/shows/{id}',
        '/v1/shows/{id}/categories/{category}',
        '/v1/queries/live_sales_for_show',
        '/v1/events',
      ]),
    );
    const params = body.paths['/v1/queries/live_sales_for_show'].get.parameters.map(
      (p: { name: string }) => p.name,
    );
    expect(params).toEqual(['show_id', 'from_time', 'to_time']);
  });

  it('answers 401 without a key, 403 for the wrong scope or organizer, 404 and 409', async () => {
    expect((await call('GET', '/v1/shows', undefined)).status).toBe(401);
    expect((await call('GET', '/v1/shows', 'no-such-key-at-all')).status).toBe(401);
    expect((await call('GET', '/v1/shows', keys.aIngest!.key)).status).toBe(403);
    expect((await call('POST', '/v1/organizers', keys.aAdmin!.key, { name: 'x' })).status).toBe(403);
    expect(
      (await call('POST', `/v1/organizers/${B}/keys`, keys.aAdmin!.key, { scopes: ['read'] })).status,
    ).toBe(403);
    expect(
      (await call('POST', `/v1/organizers/${randomUUID()}/keys`, ADMIN, { scopes: ['read'] })).status,
    ).toBe(404);
    expect((await call('GET', '/v1/shows/no-such-show', keys.aRead!.key)).status).toBe(404);
    const duplicate = await call('POST', '/v1/shows', keys.aAdmin!.key, show('show-a'));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('conflict');
    expect((await call('POST', '/v1/organizers', ADMIN, { id: A, name: 'again' })).status).toBe(409);
  });

  it('answers 400 with every invalid field of a body', async () => {
    const bad = await call(
      'POST',
      '/v1/shows',
      keys.aAdmin!.key,
      show('show-bad', { country: 'XX', starts_at: '2026-02-30T20:00:00Z' }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'country',
      'starts_at',
    ]);
    expect((await call('GET', '/v1/shows/show-bad', keys.aRead!.key)).status).toBe(404);
  });

  it("lists and reads only the caller's shows; 403 for another organizer's", async () => {
    const list = await call('GET', '/v1/shows', keys.aRead!.key);
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ id: 'show-a', organizer_id: A, timezone: 'Europe/Berlin' });
    expect(list.body[0].categories).toEqual([
      { category: 'GA', capacity: 100, price: '49.9000', currency: 'EUR' },
    ]);
    expect((await call('GET', '/v1/shows/show-b', keys.aRead!.key)).status).toBe(403);
    expect((await call('GET', '/v1/shows/show-b', ADMIN)).status).toBe(200);
    const patched = await call('PATCH', '/v1/shows/show-a', keys.aAdmin!.key, { venue: 'Hall 2' });
    expect(patched).toMatchObject({ status: 200, body: { venue: 'Hall 2', name: 'Show show-a' } });
    expect((await call('PATCH', '/v1/shows/show-b', keys.aAdmin!.key, { venue: 'x' })).status).toBe(403);
  });
});

describe('scoping', () => {
  it("rejects and quarantines an organizer's events for another organizer's show or an unknown one", async () => {
    const res = await call('POST', '/v1/events', keys.aIngest!.key, [
      sale('show-a'),
      sale('show-b'),
      sale('show-zz'),
    ]);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected).toEqual([
      expect.objectContaining({
        index: 1,
        errors: [{ path: 'data.event_id', message: "show 'show-b' belongs to another organizer" }],
      }),
      expect.objectContaining({
        index: 2,
        errors: [
          expect.objectContaining({
            path: 'data.event_id',
            message: expect.stringMatching(/^unknown show 'show-zz'/),
          }),
        ],
      }),
    ]);
    const source = `key:${keys.aIngest!.id}`;
    expect(await pipeline.countAtLeast('rejected_events', 2, `source = '${source}'`)).toBe(2);
    const [quarantined] = await pipeline.query<{ errors: string[] }>(
      `SELECT errors FROM ${pipeline.database}.rejected_events WHERE source = '${source}' AND record_index = 1`,
    );
    expect(quarantined?.errors.join(' ')).toContain("show 'show-b' belongs to another organizer");
    // A platform key stays unscoped.
    expect((await call('POST', '/v1/events', undefined, [])).status).toBe(401);
    expect((await pipeline.post([sale('show-b')])).status).toBe(202);
    expect(await pipeline.countAtLeast('ticket_sales', 2)).toBe(2);
  });

  it('scopes named queries: 403 for another show, filtered rows for scoped queries, platform-only ones refused', async () => {
    const range = `from_time=${encodeURIComponent('2020-01-01T00:00:00Z')}&to_time=${encodeURIComponent('2100-01-01T00:00:00Z')}`;
    const other = await call(
      'GET',
      `/v1/queries/live_sales_for_show?show_id=show-b&${range}`,
      keys.aRead!.key,
    );
    expect(other.status).toBe(403);
    const unknown = await call(
      'GET',
      `/v1/queries/live_sales_for_show?show_id=show-zz&${range}`,
      keys.aRead!.key,
    );
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
    const own = await call('GET', `/v1/queries/live_sales_for_show?show_id=show-a&${range}`, keys.aRead!.key);
    expect(own.status).toBe(200);
    expect(own.body.rows.map((r: { category: string }) => r.category)).toEqual(['GA']);
    const summary = await call('GET', `/v1/queries/show_summary?${range}`, keys.aRead!.key);
    expect(summary.body.rows.map((r: { event_id: string }) => r.event_id)).toEqual(['show-a']);
    const everything = await call('GET', `/v1/queries/show_summary?${range}`, ADMIN);
    expect(everything.body.rows.map((r: { event_id: string }) => r.event_id)).toEqual(['show-a', 'show-b']);
    expect((await call('GET', `/v1/queries/metric_health?${range}`, keys.aRead!.key)).status).toBe(403);
    expect((await call('GET', `/v1/queries/metric_health?${range}`, ADMIN)).status).toBe(200);
    const badParam = await call(
      'GET',
      `/v1/queries/show_summary?from_time=yesterday&to_time=now`,
      keys.aRead!.key,
    );
    expect(badParam.status).toBe(400);
  });

  it("limits an organizer key's records per second: 429 with Retry-After and RateLimit headers", async () => {
    const created = await call('POST', `/v1/organizers/${A}/keys`, keys.aAdmin!.key, {
      scopes: ['ingest'],
      ingest_records_per_second: 5, // 50 records per 10-second window
    });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const send = (n: number) =>
      pipeline.app.request('/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: n }, () => sale('show-a'))),
      });
    const first = await send(40);
    expect(first.status).toBe(202);
    expect(first.headers.get('ratelimit-limit')).toBe('50');
    expect(first.headers.get('ratelimit-remaining')).toBe('10');
    const over = await send(20);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect((await send(60)).status).toBe(413); // more than a whole window: no retry can pass
    // Platform keys are not limited.
    expect((await pipeline.post(Array.from({ length: 60 }, () => sale('show-b')))).status).toBe(202);
  });

  it('refuses a revoked key in another process, through the change feed', async () => {
    // A second key store on its own change feed stands for another API process.
    const pool = createPostgresPool({ DATABASE_URL: pipeline.postgres.url });
    const changes = createPgChanges({
      connectionString: pipeline.postgres.url,
      logger: pino({ level: 'silent' }),
    });
    await changes.start();
    const otherProcess = createKeyStore({ db: createDb(pool), changes, platformKeys: new Map() });
    try {
      const { key, id } = (
        await call('POST', `/v1/organizers/${A}/keys`, keys.aAdmin!.key, { scopes: ['ingest'] })
      ).body as { key: string; id: string };
      expect((await otherProcess.find(key))?.kind).toBe('organizer'); // now cached there
      expect((await call('POST', '/v1/events', key, [sale('show-a')])).status).toBe(202);

      const revoked = await call('DELETE', `/v1/keys/${id}`, keys.aAdmin!.key);
      expect(revoked.status).toBe(200);
      const seen = await eventually(
        () => otherProcess.find(key),
        (p) => p === undefined,
        15_000,
        10,
      );
      expect(seen).toBeUndefined();
      expect((await call('POST', '/v1/events', key, [sale('show-a')])).status).toBe(401);
      expect((await call('DELETE', `/v1/keys/${id}`, keys.bAdmin!.key)).status).toBe(403);
    } finally {
      otherProcess.close();
      await changes.close();
      await pool.end();
    }
  });
});

describe('the bridge (Postgres -> ClickHouse dimensions)', () => {
  it('brings a raised capacity to capacity_status', async () => {
    const capacityOf = async () => {
      const [row] = await pipeline.query<{ capacity: number }>(
        `SELECT capacity FROM ${pipeline.database}.capacity_status WHERE event_id = 'show-a' AND category = 'GA'`,
      );
      return Number(row?.capacity ?? 0);
    };
    expect(await eventually(capacityOf, (c) => c === 100, 10_000)).toBe(100);
    const put = await call('PUT', '/v1/shows/show-a/categories/GA', keys.aAdmin!.key, {
      capacity: 250,
      price: 59,
      currency: 'EUR',
    });
    expect(put).toMatchObject({ status: 200, body: { capacity: 250, price: '59.0000' } });
    expect(await eventually(capacityOf, (c) => c === 250, 15_000, 10)).toBe(250);
  });

  it('lets analysts join shows and categories, with deletions and a full resync', async () => {
    const shows = async () =>
      pipeline.query<{ show_id: string; organizer_id: string; venue: string }>(
        `SELECT show_id, organizer_id, venue FROM ${pipeline.database}.shows ORDER BY show_id`,
      );
    expect(
      await eventually(shows, (rows) => rows.find((r) => r.show_id === 'show-a')?.venue === 'Hall 2', 5000),
    ).toEqual([
      { show_id: 'show-a', organizer_id: A, venue: 'Hall 2' },
      { show_id: 'show-b', organizer_id: B, venue: 'Arena' },
    ]);
    // A row deleted in Postgres while nothing listened: the resync marks it deleted.
    const { db } = pipeline.entities!;
    await db
      .insertInto('shows')
      .values({ id: 'show-gone', organizer_id: B, name: 'x', country: 'FR', starts_at: new Date() })
      .execute();
    await eventually(shows, (rows) => rows.some((r) => r.show_id === 'show-gone'), 5000);
    await pipeline.entities!.bridge.idle();
    await pipeline.clickhouse.command({
      query: `INSERT INTO ${pipeline.database}.dim_shows (show_id, organizer_id, version, deleted) VALUES ('show-ghost', '${B}', 1, 0)`,
    });
    await db.deleteFrom('shows').where('id', '=', 'show-gone').execute();
    await pipeline.entities!.bridge.resync();
    expect((await shows()).map((r) => r.show_id)).toEqual(['show-a', 'show-b']);
  });

  it('resyncs after the change feed lost its connection, so a change made meanwhile arrives', async () => {
    const { db } = pipeline.entities!;
    const dbName = new URL(pipeline.postgres.url).pathname.slice(1);
    // Cut the LISTEN connection and change a category before it is back.
    const killed = await pipeline.entities!.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`,
      [dbName, CHANGES_APPLICATION_NAME],
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    await db
      .updateTable('ticket_categories')
      .set({ capacity: 321 })
      .where('show_id', '=', 'show-b')
      .execute();
    const capacityOfB = async () => {
      const [row] = await pipeline.query<{ capacity: number }>(
        `SELECT capacity FROM ${pipeline.database}.capacity_status WHERE event_id = 'show-b' AND category = 'GA'`,
      );
      return Number(row?.capacity ?? 0);
    };
    expect(await eventually(capacityOfB, (c) => c === 321, 15_000)).toBe(321);
  });

  it("applies an organizer's fraud-rule override to its shows only", async () => {
    const put = await call('PUT', `/v1/organizers/${A}/fraud-rules/large_amount`, keys.aAdmin!.key, {
      threshold: 100,
    });
    expect(put).toMatchObject({ status: 200, body: { threshold: 100, enabled: true } });
    expect(
      (await call('PUT', `/v1/organizers/${A}/fraud-rules/velocity`, keys.aAdmin!.key, { threshold: 2 }))
        .status,
    ).toBe(400);
    const overrides = async () =>
      pipeline.query<{ threshold: number }>(
        `SELECT threshold FROM ${pipeline.database}.fraud_rule_overrides WHERE organizer_id = '${A}'`,
      );
    await eventually(overrides, (rows) => rows.length === 1, 5000);
    const mine = sale('show-a');
    const theirs = sale('show-b');
    expect((await pipeline.post([mine, theirs])).status).toBe(202);
    await pipeline.waitForSales([mine.id, theirs.id]);
    await pipeline.runFraudRules();
    // Every earlier sale of show-a (120.50 each) is above A's limit too; none of show-b's is
    // above the platform's 10,000.
    const alerts = await pipeline.query<{ event_id: string; order_id: string; details: string }>(
      `SELECT event_id, order_id, details FROM ${pipeline.database}.fraud_alerts WHERE rule = 'large_amount'`,
    );
    expect(new Set(alerts.map((a) => a.event_id))).toEqual(new Set(['show-a']));
    expect(alerts.map((a) => a.order_id)).toContain(mine.data.order_id);
    expect(alerts[0]?.details).toBe('order total 120.5 EUR is above the limit of 100');
  });
});
