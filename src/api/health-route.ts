/** `GET /healthz`: each dependency up or down with its latency; 200 when all are up, else 503. */
import { Hono } from 'hono';
import { runProbes, type Probe } from '../health/probes.js';

export interface HealthRouteOptions {
  probes: Probe[];
  /** Deadline for each probe, in milliseconds. */
  timeoutMs: number;
}

export function createHealthRoute({ probes, timeoutMs }: HealthRouteOptions): Hono {
  return new Hono().get('/healthz', async function healthz(c) {
    const results = await runProbes(probes, timeoutMs);
    const ok = results.every((r) => r.status === 'up');
    const dependencies = Object.fromEntries(results.map(({ name, ...rest }) => [name, rest]));
    return c.json({ status: ok ? 'ok' : 'degraded', dependencies }, ok ? 200 : 503);
  });
}
