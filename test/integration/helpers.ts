// Shared fixtures for integration tests: isolation by name, polling with deadlines.
import { randomBytes } from 'node:crypto';
import { createScratchPostgres, freePort } from '../../scripts/service-process.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createInflux, type Influx } from '../../src/clients/influx.js';

export const config: Config = loadConfig();

/** A name unique to this run, safe as a database, table or topic name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/**
 * Polls `probe` until `done(value)` holds or the deadline passes; returns the last value
 * either way, so the caller's assertion shows what was seen.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    value = await probe();
  }
  return value;
}

/** A fresh Postgres database for one test file; `drop()` removes it. */
export function createTestDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  return createScratchPostgres(config.DATABASE_URL, uniqueName(prefix));
}

/** A TCP port free on 127.0.0.1 right now (for a child process or server a test starts). */
export { freePort };

/**
 * An InfluxDB database of its own for one test, on the stack's InfluxDB or the one at `url`
 * (created by the first write or `createDatabase()`); `drop()` removes it.
 */
export function createTestInflux(
  prefix: string,
  url = config.INFLUX_URL,
): Influx & { drop(): Promise<void> } {
  const name = uniqueName(prefix);
  const influx = createInflux({
    INFLUX_URL: url,
    INFLUX_TOKEN: config.INFLUX_TOKEN,
    INFLUX_DATABASE: name,
    INFLUX_RETENTION_POLICY: 'autogen',
  });
  return {
    ...influx,
    async drop() {
      await influx.query(`DROP DATABASE "${name}"`);
    },
  };
}
