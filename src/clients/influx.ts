/**
 * InfluxDB 1.x through @influxdata/influxdb-client (its v2 write API, which InfluxDB serves
 * from 1.8 on): org empty, bucket `database/retention-policy`, token empty with auth off or
 * `user:password`. Also the two 1.x calls the v2 client lacks: create the database, and run
 * InfluxQL (tests and checks).
 */
import { InfluxDB, setLogger, type Point } from '@influxdata/influxdb-client';
import type { Config } from '../config.js';
import type { Probe } from '../health/probes.js';

export type InfluxSettings = Pick<
  Config,
  'INFLUX_URL' | 'INFLUX_TOKEN' | 'INFLUX_DATABASE' | 'INFLUX_RETENTION_POLICY'
>;

export interface Influx {
  url: string;
  database: string;
  /**
   * Writes the points (second precision, no retries of its own: the mirror retries from its
   * watermark); rejects when any batch of them was refused or not delivered.
   */
  write(points: readonly Point[]): Promise<void>;
  /** `CREATE DATABASE` (a no-op when it exists). */
  createDatabase(): Promise<void>;
  /** Runs InfluxQL against the database; returns the first statement's series. */
  query(q: string): Promise<{ columns: string[]; values: unknown[][] }[]>;
  probe: Probe;
}

// The client would print every failed write to the console; its callers log failures
// themselves, once per outage (src/bridge/influx-mirror.ts).
setLogger({ error: () => undefined, warn: () => undefined });

/** Points per write request. */
const WRITE_BATCH_POINTS = 5000;

export function createInflux(settings: InfluxSettings): Influx {
  const url = settings.INFLUX_URL.replace(/\/$/, '');
  const client = new InfluxDB({ url, token: settings.INFLUX_TOKEN, timeout: 5000 });
  const bucket = `${settings.INFLUX_DATABASE}/${settings.INFLUX_RETENTION_POLICY}`;
  const headers: Record<string, string> = settings.INFLUX_TOKEN
    ? { authorization: `Token ${settings.INFLUX_TOKEN}` }
    : {};

  async function influxQl(q: string, db?: string) {
    const params = new URLSearchParams({ q, ...(db ? { db } : {}) });
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      headers,
      body: params,
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as {
      error?: string;
      results?: { error?: string; series?: { columns: string[]; values: unknown[][] }[] }[];
    };
    const error = body.error ?? body.results?.[0]?.error;
    if (!res.ok || error) throw new Error(`InfluxDB answered ${res.status}: ${error ?? 'no body'}`);
    return body.results?.[0]?.series ?? [];
  }

  return {
    url,
    database: settings.INFLUX_DATABASE,
    async write(points) {
      // The WriteApi sends a batch by itself whenever `batchSize` lines or `maxBatchBytes` are
      // buffered, drops that send's error and does not wait for it: close() reports only the
      // last, partial batch, so 5,000 points to a stopped InfluxDB "succeeded". Here each
      // request is one writer holding fewer lines than either limit, sent and awaited by close().
      for (let at = 0; at < points.length; at += WRITE_BATCH_POINTS) {
        const writer = client.getWriteApi('', bucket, 's', {
          maxRetries: 0,
          batchSize: WRITE_BATCH_POINTS + 1,
          maxBatchBytes: Number.MAX_SAFE_INTEGER,
          flushInterval: 0,
        });
        writer.writePoints(points.slice(at, at + WRITE_BATCH_POINTS));
        await writer.close();
      }
    },
    async createDatabase() {
      await influxQl(`CREATE DATABASE "${settings.INFLUX_DATABASE}"`);
    },
    query: (q) => influxQl(q, settings.INFLUX_DATABASE),
    probe: {
      name: 'influxdb',
      address: url,
      // Only the mirror writes to it, and it buffers through an outage (src/bridge/influx-mirror.ts).
      need: 'optional',
      async check() {
        const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(5000) });
        if (res.status !== 204) throw new Error(`/ping answered ${res.status}`);
      },
    },
  };
}
