/** Creates the ClickHouse HTTP client from validated settings. */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../config.js';

export type { ClickHouseClient };

/**
 * A client bound to the server but not to a database: migrations create the database, and
 * every query names its tables fully (`db.table`) so the same client serves tests that use
 * their own database.
 */
export function createClickHouse(
  config: Pick<Config, 'CLICKHOUSE_URL' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD'>,
  options: { request_timeout?: number } = {},
): ClickHouseClient {
  return createClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    request_timeout: options.request_timeout ?? 30_000,
    // The client's own error log duplicates the errors we classify and report ourselves.
    log: { level: ClickHouseLogLevel.OFF },
  });
}
