/**
 * Runs work that must not run twice (the rules role) in one process of many: whoever holds a
 * Postgres session-level advisory lock leads. Followers try again every `checkIntervalMs`; the
 * leader checks its lock connection as often, and stops leading when it is gone (Postgres
 * released the lock with the session, so another process may take over). Between a lost
 * connection and the next check both can run for up to one interval: the jobs it guards are
 * idempotent (fraud alerts skip what fired, capacity transitions have one key each), so an
 * overlap costs work, not correctness.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { repeat } from './repeat.js';

export interface LeaderElectionOptions {
  pool: pg.Pool;
  /** The advisory lock key: one per kind of leader. */
  lockKey: number;
  logger: Logger;
  checkIntervalMs: number;
  /** Starts what runs while this process leads; its `close()` is called when it stops leading. */
  lead: () => { close(): Promise<void> };
}

export interface LeaderElection {
  start(): void;
  /** True while this process holds the lock and runs the work. */
  readonly leading: boolean;
  /** Checks completed so far (taking or confirming the lock, or failing to). */
  readonly checks: number;
  close(): Promise<void>;
}

export function createLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const { pool, lockKey, logger } = options;
  let lockClient: pg.PoolClient | undefined;
  let work: { close(): Promise<void> } | undefined;
  let checks = 0;

  async function stopLeading(broken: boolean): Promise<void> {
    const client = lockClient;
    lockClient = undefined;
    await work?.close();
    work = undefined;
    if (!client) return;
    if (!broken) await client.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
    client.release(broken ? true : undefined);
  }

  const loop = repeat({
    intervalMs: options.checkIntervalMs,
    firstDelayMs: 0,
    run: async function checkLeadership() {
      try {
        await check();
      } finally {
        checks += 1;
      }
    },
    onError(err) {
      logger.warn({ err, lockKey }, 'leader election check failed; trying again');
    },
  });

  async function check(): Promise<void> {
    if (lockClient) {
      try {
        await lockClient.query('SELECT 1');
        return;
      } catch (err) {
        logger.warn({ err, lockKey }, 'lost the leader lock connection; stopping the leader work');
        await stopLeading(true);
      }
    }
    const client = await pool.connect();
    let locked = false;
    try {
      const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        lockKey,
      ]);
      locked = result.rows[0]?.locked === true;
    } finally {
      if (!locked) client.release();
    }
    if (!locked) return;
    // An error on an idle lock connection is seen at the next check.
    client.on('error', function onLockClientError() {});
    lockClient = client;
    work = options.lead();
    logger.info({ lockKey }, 'elected leader');
  }

  return {
    start: loop.start,
    get leading() {
      return lockClient !== undefined;
    },
    get checks() {
      return checks;
    },
    async close() {
      await loop.close();
      await stopLeading(false);
    },
  };
}
