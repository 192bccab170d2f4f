/** The push role's Prometheus metrics (`ticketpulse_live_*`), registered once per hub. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { QueryPurpose } from './feed-kinds.js';
import type { ServerMessage } from './protocol.js';

/** What the gauges read when scraped. */
export interface LiveStats {
  connections: number;
  subscriptions: number;
  feeds: number;
  rows: number;
}

export interface LiveMetrics {
  /** One message of this type and length went out. */
  sent(type: ServerMessage['type'], bytes: number): void;
  query(purpose: QueryPurpose): void;
  slowConsumerClosed(): void;
}

export function createLiveMetrics(registry: Registry | undefined, stats: () => LiveStats): LiveMetrics {
  const registers = registry ? [registry] : [];
  const messages = new Counter({
    name: 'ticketpulse_live_messages_total',
    help: 'Messages sent to /v1/live clients, by type',
    labelNames: ['type'],
    registers,
  });
  const sentBytes = new Counter({
    name: 'ticketpulse_live_sent_bytes_total',
    help: 'Bytes of messages sent to /v1/live clients',
    registers,
  });
  const queries = new Counter({
    name: 'ticketpulse_live_queries_total',
    help: 'ClickHouse queries made by the push role, by purpose (load | poll | resume)',
    labelNames: ['purpose'],
    registers,
  });
  const slowCloses = new Counter({
    name: 'ticketpulse_live_slow_consumer_closes_total',
    help: '/v1/live connections closed because their pending deltas passed LIVE_MAX_PENDING_BYTES',
    registers,
  });
  new Gauge({
    name: 'ticketpulse_live_subscribers',
    help: 'Open /v1/live connections (connections) and their subscriptions (subscriptions)',
    labelNames: ['kind'],
    registers,
    collect() {
      const s = stats();
      this.set({ kind: 'connections' }, s.connections);
      this.set({ kind: 'subscriptions' }, s.subscriptions);
    },
  });
  new Gauge({
    name: 'ticketpulse_live_feeds',
    help: 'Feeds (feed and params) being polled because someone watches them',
    registers,
    collect() {
      this.set(stats().feeds);
    },
  });
  return {
    sent(type, bytes) {
      messages.inc({ type });
      sentBytes.inc(bytes);
    },
    query: (purpose) => queries.inc({ purpose }),
    slowConsumerClosed: () => slowCloses.inc(),
  };
}
