// GET /metrics after some ingest: records counted by type, outcome and bounded reason, and the
// produce time observed, in the Prometheus text format.
import { describe, expect, it } from 'vitest';
import type { EventSink } from '../../src/events/event-sink.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { systemMetric, ticketSale } from '../fixtures/events.js';
import { ingestApp } from '../fixtures/ingest-app.js';

const KEY = 'metrics-test-key';
const LIMITS = { maxBodyBytes: 1 << 20, maxRecords: 100, retryAfterSeconds: 1 };

describe('GET /metrics', () => {
  it('counts accepted and rejected records and times the produce', async () => {
    const metrics = createMetrics();
    const sink: EventSink = { async publish() {} };
    const { app, post } = ingestApp(sink, KEY, LIMITS, metrics);
    const body = [
      ticketSale(),
      ticketSale(),
      systemMetric(),
      ticketSale({ timestamp: 'yesterday' }),
      { ...ticketSale(), event_type: `evil-${'x'.repeat(50)}` },
      ticketSale({}, { tags: undefined, location: { country: 'UK' } }),
    ];
    const res = await post(JSON.stringify(body));
    expect(res.status).toBe(202);

    const scrape = await app.request('/metrics');
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await scrape.text();
    const line = (labels: string) =>
      text.split('\n').find((l) => l.startsWith(`ticketpulse_ingest_records_total{${labels}}`));
    expect(line('event_type="ticket_sale",outcome="accepted",reason=""')).toMatch(/ 2$/);
    expect(line('event_type="system_metric",outcome="accepted",reason=""')).toMatch(/ 1$/);
    expect(line('event_type="ticket_sale",outcome="rejected",reason="timestamp"')).toMatch(/ 1$/);
    expect(line('event_type="unknown",outcome="rejected",reason="event_type"')).toMatch(/ 1$/);
    expect(line('event_type="ticket_sale",outcome="rejected",reason="data.location"')).toMatch(/ 1$/);
    expect(text).toMatch(/^ticketpulse_kafka_produce_seconds_count\{outcome="acknowledged"\} 1$/m);
    expect(text).toMatch(/^ticketpulse_process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^ticketpulse_http_responses_total\{route="\/v1\/events",status_class="2xx"\} 1$/m);
  });

  it('counts responses by status class, errors from the error handler included', async () => {
    const metrics = createMetrics();
    const failing: EventSink = {
      async publish() {
        throw new Error('a bug');
      },
    };
    const { app, post } = ingestApp(failing, KEY, LIMITS, metrics);
    const body = JSON.stringify([ticketSale()]);
    expect((await post(body)).status).toBe(500);
    expect((await post(body, { authorization: 'Bearer wrong-key-123' })).status).toBe(401);
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/^ticketpulse_http_responses_total\{route="\/v1\/events",status_class="5xx"\} 1$/m);
    expect(text).toMatch(/^ticketpulse_http_responses_total\{route="\/v1\/events",status_class="4xx"\} 1$/m);
  });
});
