/**
 * `npm run bench:propagation -- [--rounds 50]`: how long a change in Postgres takes to reach
 * where it matters, through the change feed (pg-listen NOTIFY), on the real services:
 * - a revoked key: from the DELETE /v1/keys answer until another process's key store (its own
 *   change feed and cache, holding the key) refuses it;
 * - a raised capacity: from the PUT /v1/shows/{id}/categories/{c} answer until capacity_status
 *   in ClickHouse shows it (the bridge re-reads the row and writes a new version).
 * Each round is timed by polling every 2 ms; the issue asks for both within a second.
 */
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import pg from 'pg';
import { pino } from 'pino';
import { createKeyStore } from '../src/auth/key-store.js';
import { createPgChanges } from '../src/clients/pg-changes.js';
import { createPostgresPool } from '../src/clients/postgres.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/schema.js';
import { createIsolatedPipeline } from '../src/pipeline/isolated-pipeline.js';
import { describeRun, fmtMs, median, percentile } from './machine.js';

const { rounds } = new Command('bench:propagation')
  .option('--rounds <n>', 'changes of each kind', (v) => Number(v), 50)
  .parse()
  .opts<{ rounds: number }>();

const config = loadConfig();
const name = `bench_propagation_${Date.now().toString(36)}`;
const ADMIN = 'bench-admin-key-1234';

// A Postgres database of its own, dropped at the end.
const admin = new pg.Client({ connectionString: config.DATABASE_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(config.DATABASE_URL);
url.pathname = `/${name}`;

const pipeline = await createIsolatedPipeline({
  config,
  name,
  apiKey: 'bench-ingest-key-1234',
  postgres: { url: url.toString(), adminKey: ADMIN },
});
// Another process: its own pool, change feed and key cache.
const otherPool = createPostgresPool({ DATABASE_URL: url.toString() });
const otherChanges = createPgChanges({ connectionString: url.toString(), logger: pino({ level: 'silent' }) });
await otherChanges.start();
const otherKeys = createKeyStore({ db: createDb(otherPool), changes: otherChanges, platformKeys: new Map() });

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await pipeline.app.request(path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Milliseconds until `done()` holds, polling every 2 ms (gives up after 10 s). */
async function timeUntil(done: () => Promise<boolean>, started: number): Promise<number> {
  while (!(await done())) {
    if (performance.now() - started > 10_000) return Infinity;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - started;
}

const organizer = randomUUID();
await call('POST', '/v1/organizers', { id: organizer, name: 'bench' });
await call('POST', '/v1/shows', {
  id: 'bench-show',
  organizer_id: organizer,
  name: 'Bench',
  country: 'DE',
  starts_at: '2030-01-01T20:00:00Z',
  categories: [{ category: 'GA', capacity: 1, price: '10', currency: 'EUR' }],
});

const revoke: number[] = [];
const capacity: number[] = [];
for (let round = 0; round < rounds; round++) {
  const created = await call('POST', `/v1/organizers/${organizer}/keys`, { scopes: ['ingest'] });
  const key = created.key as string;
  if (!(await otherKeys.find(key))) throw new Error('the new key is unknown to the other process');
  await call('DELETE', `/v1/keys/${created.id as string}`);
  const revokedAt = performance.now();
  revoke.push(await timeUntil(async () => (await otherKeys.find(key)) === undefined, revokedAt));

  const target = 1000 + round;
  await call('PUT', '/v1/shows/bench-show/categories/GA', { capacity: target, price: '10', currency: 'EUR' });
  const putAt = performance.now();
  capacity.push(
    await timeUntil(async () => {
      const [row] = await pipeline.query<{ capacity: number }>(
        `SELECT capacity FROM ${name}.capacity_status WHERE event_id = 'bench-show' AND category = 'GA'`,
      );
      return Number(row?.capacity) === target;
    }, putAt),
  );
  process.stdout.write(`\rround ${round + 1}/${rounds}`);
}

console.log(`\n${describeRun(`npm run bench:propagation -- --rounds ${rounds}`)}\n`);
console.log('change                          |    median |       p95 |       max | over 1 s');
for (const [label, values] of [
  ['revoked key refused elsewhere', revoke],
  ['raised capacity in ClickHouse', capacity],
] as const) {
  console.log(
    `${label.padEnd(31)} | ${fmtMs(median(values))} | ${fmtMs(percentile(values, 95))} | ${fmtMs(Math.max(...values))} | ${values.filter((v) => v > 1000).length} of ${values.length}`,
  );
}

otherKeys.close();
await otherChanges.close();
await otherPool.end();
await pipeline.close();
await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
await admin.end();
