/** Creates the pg pool from validated settings. */
import pg from 'pg';
import type { Config } from '../config.js';

/** A small pool; callers own it and must `end()` it. */
export function createPostgresPool(config: Pick<Config, 'DATABASE_URL'>, max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', function onIdleClientError() {});
  return pool;
}
