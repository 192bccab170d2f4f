// The pipeline gauges of GET /metrics read from the real Kafka and ClickHouse: rows behind per
// Kafka table, freshness of the newest counted sale, fraud-rule lag.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerLag } from '../../src/kafka/consumer-lag.js';
import { addPipelineGauges } from '../../src/metrics/metrics.js';
import { ticketSale } from '../fixtures/events.js';
import { eventually } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

describe('pipeline gauges', () => {
  let p: TestPipeline;
  const registry = new Registry();
  beforeAll(async () => {
    p = await createTestPipeline('tp_metrics');
    addPipelineGauges({
      registry,
      lag: createConsumerLag({ admin: p.admin, topicPrefix: p.topicPrefix, database: p.database }),
      clickhouse: p.clickhouse,
      database: p.database,
    });
  });
  afterAll(() => p?.close());

  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('shows rows behind going to 0, a small freshness after a sale, and the fraud-rule lag', async () => {
    const before = await registry.metrics();
    expect(value(before, 'ticketpulse_freshness_seconds')).toBeNaN(); // no sale counted yet
    const sale = ticketSale();
    expect((await p.post([sale])).status).toBe(202);
    await p.waitForSales([sale.id]);
    const text = await eventually(
      () => registry.metrics(),
      (t) => value(t, 'ticketpulse_kafka_rows_behind{table="ticket_sales"}') === 0,
      30_000,
      200,
    );
    expect(value(text, 'ticketpulse_kafka_rows_behind{table="ticket_sales"}')).toBe(0);
    const freshness = value(text, 'ticketpulse_freshness_seconds');
    expect(freshness).toBeGreaterThanOrEqual(0);
    expect(freshness).toBeLessThan(60);
    await p.runFraudRules();
    const lag = value(await registry.metrics(), 'ticketpulse_fraud_rules_lag_seconds');
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(60);
  });
});
