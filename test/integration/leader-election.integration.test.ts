// Two processes that both run the rules role: one leads, the other waits, and it takes over
// when the leader stops or loses its connection. Real Postgres advisory locks; the "work" is a
// counter standing in for the rule runners.
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { createLeaderElection, type LeaderElection } from '../../src/lifecycle/leader-election.js';
import { createTestDatabase, eventually } from './helpers.js';

const LOCK = 4242;

describe('leader election', () => {
  let pg: Awaited<ReturnType<typeof createTestDatabase>>;
  const pools: pg.Pool[] = [];
  beforeAll(async () => {
    pg = await createTestDatabase('tp_leader');
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await pg?.drop();
  });

  /** One "process": its own pool, and a record of when its work runs. */
  function processWithRules(name: string, running: Set<string>, started: string[]) {
    const pool = createPostgresPool({ DATABASE_URL: pg.url }, 3);
    pools.push(pool);
    const election = createLeaderElection({
      pool,
      lockKey: LOCK,
      logger: pino({ level: 'silent' }),
      checkIntervalMs: 100,
      lead() {
        started.push(name);
        running.add(name);
        return {
          async close() {
            running.delete(name);
          },
        };
      },
    });
    return { pool, election };
  }

  it('runs the work in one process of two, and hands it over when the leader stops', async () => {
    const running = new Set<string>();
    const started: string[] = [];
    const a = processWithRules('a', running, started);
    const b = processWithRules('b', running, started);
    a.election.start();
    b.election.start();
    await eventually(
      async () => running.size,
      (n) => n === 1,
      5000,
      20,
    );
    // After the follower has tried five more times, still one: it does not start the work too.
    const follower = started[0] === 'a' ? b.election : a.election;
    const triedBefore = follower.checks;
    await eventually(
      async () => follower.checks,
      (n) => n >= triedBefore + 5,
      5000,
      20,
    );
    expect(follower.leading).toBe(false);
    expect(started).toHaveLength(1);
    expect(running.size).toBe(1);

    const [first] = started;
    const leader: LeaderElection = first === 'a' ? a.election : b.election;
    await leader.close();
    await eventually(
      async () => started.length,
      (n) => n === 2,
      5000,
      20,
    );
    expect(started[1]).not.toBe(first);
    expect([...running]).toEqual([started[1]]);
    await (first === 'a' ? b : a).election.close();
    expect(running.size).toBe(0);
  });

  it('stops the work when the lock connection is lost, and one process takes it up again', async () => {
    const running = new Set<string>();
    const started: string[] = [];
    const a = processWithRules('a', running, started);
    a.election.start();
    await eventually(
      async () => a.election.leading,
      (l) => l,
      5000,
      20,
    );
    const b = processWithRules('b', running, started);
    b.election.start();

    // Postgres ends a's lock session: the lock is free; a notices at its next check.
    const admin = createPostgresPool({ DATABASE_URL: pg.url }, 1);
    pools.push(admin);
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`,
      [LOCK],
    );
    try {
      // Whoever takes the free lock next (b, or a again) starts the work once, and a stops its
      // old run at its next check (until then both may run: the documented overlap).
      const settled = await eventually(
        async () => ({ started: started.length, running: running.size }),
        (x) => x.started === 2 && x.running === 1,
        5000,
        20,
      );
      expect(settled).toEqual({ started: 2, running: 1 });
      expect(started[0]).toBe('a');
    } finally {
      await a.election.close();
      await b.election.close();
    }
  });
});
