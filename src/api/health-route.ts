/**
 * `GET /healthz`: each dependency of this process's roles, up or down with its latency, and
 * the schema (migrations applied). The status follows what the roles need, so that a load
 * balancer or a readiness probe can use the code as it is:
 * - `ok` (200): everything up;
 * - `degraded` (200): only an optional dependency is down (InfluxDB: the mirror buffers);
 * - `down` (503): a required dependency is down, or migrations are pending.
 */
import { Hono } from 'hono';
import { runProbes, type Probe, type ProbeResult } from '../health/probes.js';

export interface HealthRouteOptions {
  probes: Probe[];
  /** Deadline for each probe, in milliseconds. */
  timeoutMs: number;
}

export type Health = 'ok' | 'degraded' | 'down';

export function healthOf(results: ProbeResult[]): Health {
  const down = results.filter((r) => r.status === 'down');
  if (down.length === 0) return 'ok';
  return down.some((r) => r.need === 'required') ? 'down' : 'degraded';
}

export function createHealthRoute({ probes, timeoutMs }: HealthRouteOptions): Hono {
  return new Hono().get('/healthz', async function healthz(c) {
    const results = await runProbes(probes, timeoutMs);
    const status = healthOf(results);
    const dependencies = Object.fromEntries(results.map(({ name, ...rest }) => [name, rest]));
    return c.json({ status, dependencies }, status === 'down' ? 503 : 200);
  });
}
