/**
 * What a role is and what the composition root (src/service.ts) shares with every role: each
 * client built once, passed in, closed by the service after the roles.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { AppOptions } from '../api/app.js';
import type { LiveTokens } from '../auth/live-tokens.js';
import type { Influx } from '../clients/influx.js';
import type { Role } from '../config.js';
import type { Db } from '../db/schema.js';
import type { EntityServices } from '../entities/entity-services.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NamedQuery } from '../sql/named-queries.js';
import type { Delta } from '../push/feed-poller.js';
import type { EventSink } from '../events/event-sink.js';

/** A part of the service that a process may run. */
export interface RoleHandle {
  role: Role;
  /** What the role serves on the shared HTTP server, if anything. */
  routes?: Partial<AppOptions>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The clients and caches every role of one process shares; the service owns and closes them. */
export interface SharedClients {
  clickhouse: ClickHouseClient;
  kafka: Kafka;
  pool: pg.Pool;
  db: Db;
  metrics: Metrics;
  queries: ReadonlyMap<string, NamedQuery>;
  /** The change feed and what it keeps honest: keys, show owners, key revocations. */
  entities: EntityServices;
  /** Minted by `api`, checked by `push`. */
  liveTokens: LiveTokens;
  /** The mirror's InfluxDB client, when the bridge runs the mirror (INFLUX_MIRROR_INTERVAL_MS > 0). */
  influx?: Influx;
  logger: Logger;
  hooks: ServiceHooks;
}

/** What a bench or test may observe inside the running service; nothing in production sets these. */
export interface ServiceHooks {
  /** Called as each live delta leaves its feed's poller (bench:push times delivery from it). */
  onLiveDelta?: (delta: Delta) => void;
  /**
   * The api role publishes accepted and rejected records through this sink instead of Kafka
   * (the ingest fuzz test records what would be sent and has ClickHouse parse it).
   */
  eventSink?: EventSink;
}
