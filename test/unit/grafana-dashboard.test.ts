// The provisioned Grafana dashboard (docker-compose profile `grafana`) is not exercised here
// (no Docker engine), so this checks what can go wrong without one: it parses, reads the
// provisioned InfluxDB datasource, and queries the measurements and fields the mirror writes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../deploy/grafana/', import.meta.url);
const dashboard = JSON.parse(readFileSync(new URL('dashboards/ticketpulse.json', root), 'utf8')) as {
  panels: { title: string; datasource: { uid: string }; targets: { query: string }[] }[];
};
const datasource = readFileSync(new URL('provisioning/datasources/influxdb.yml', root), 'utf8');

describe('Grafana dashboard', () => {
  it('has panels for sales per minute per show and the metric percentiles, on the provisioned datasource', () => {
    expect(datasource).toContain('uid: ticketpulse-influxdb');
    expect(datasource).toContain('database: ticketpulse');
    for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe('ticketpulse-influxdb');
    const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => t.query));
    expect(
      queries.some(
        (q) => q.includes('FROM "sales_per_minute"') && q.includes('"tickets"') && q.includes('"event_id"'),
      ),
    ).toBe(true);
    expect(queries.some((q) => q.includes('FROM "sales_per_minute"') && q.includes('"revenue"'))).toBe(true);
    // Net figures first (refunds), with gross beside them.
    for (const field of ['net_tickets', 'net_revenue'])
      expect(
        queries.some((q) => q.includes('FROM "sales_per_minute"') && q.includes(`sum("${field}")`)),
      ).toBe(true);
    expect(
      queries.some(
        (q) =>
          q.includes('FROM "metrics_per_minute"') && ['p50', 'p95', 'p99'].every((f) => q.includes(`"${f}"`)),
      ),
    ).toBe(true);
  });
});
