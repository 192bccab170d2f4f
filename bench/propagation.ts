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
import { pino } from 'pino';
import { createKeyStore } from '../src/auth/key-store.js';
import { createPgChanges } from '../src/clients/pg-changes.js';
import { createPostgresPool } from '../src/clients/postgres.js';
import { createDb } from '../src/db/schema.js';
import { startServiceHarness } from '../test/harness/service-harness.js';
import { describeRun, fmtMs, median, percentile } from './machine.js';

const { rounds } = new Command('bench:propagation')
  .option('--rounds <n>', 'changes of each kind', (v) => Number(v), 50)
  .parse()
  .opts<{ rounds: number }>();

const name = `bench_propagation_${Date.now().toString(36)}`;
const ADMIN = 'bench-admin-key-1234';

// The real service on databases and topics of its own (roles api and bridge), dropped at the end.
const pipeline = await startServiceHarness({ name, env: { ADMIN_API_KEY: ADMIN } });
const url = pipeline.postgres.url;
// Another process: its own pool, change feed and key cache.
const otherPool = createPostgresPool({ DATABASE_URL: url });
const otherChanges = createPgChanges({ connectionString: url, logger: pino({ level: 'silent' }) });
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
