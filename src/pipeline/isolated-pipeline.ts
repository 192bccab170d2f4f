/**
 * A whole ingest pipeline on the real services, isolated by name: its own ClickHouse database
 * (every migration applied), its own topics, its own producer and HTTP app served in-process.
 * Integration tests and benchmarks build on it; the service itself (`npm start`) never does.
 */
import type { Hono } from 'hono';
import { pino } from 'pino';
import type { ServerType } from '@hono/node-server';
import { createApp, serveApp } from '../api/app.js';
import { createLiveHub, type LiveHubOptions } from '../push/live-hub.js';
import { feedCatalog } from '../push/feeds.js';
import { createDashboardRoutes } from '../dashboard/dashboard-routes.js';
import { createIngestRateLimit } from '../api/ingest-rate-limit.js';
import { createClickHouse } from '../clients/clickhouse.js';
import { ackedProducer, createKafka } from '../clients/kafka.js';
import type { Config } from '../config.js';
import { createKafkaEventSink } from '../events/kafka-event-sink.js';
import { createBlockHeartbeat } from '../events/block-heartbeat.js';
import { createConsumerLag } from '../events/consumer-lag.js';
import { ensureTopics, topicNames } from '../events/topics.js';
import { createClickHouseMigrator } from '../migrate/clickhouse-migrator.js';
import { createFraudRuleRunner } from '../fraud/rule-runner.js';
import { platformOnlyKeyStore, type KeyStore } from '../auth/key-store.js';
import { platformKeys } from '../auth/platform-keys.js';
import { createLiveTokens, type LiveTokensOptions } from '../auth/live-tokens.js';
import { noKeyRevocations } from '../auth/key-revocations.js';
import type { Principal } from '../auth/principal.js';
import { createEntityServices } from '../entities/entity-services.js';
import { createDimensionSync } from '../bridge/dimension-sync.js';
import { createPostgresPool } from '../clients/postgres.js';
import { createDb } from '../db/schema.js';
import { createPostgresMigrator } from '../migrate/postgres-migrator.js';
import { loadNamedQueries } from '../sql/named-queries.js';
import type { EntityApiOptions } from '../api/v1/entity-api.js';

const MIGRATIONS = new URL('../../migrations/clickhouse/', import.meta.url).pathname;
const PG_MIGRATIONS = new URL('../../migrations/postgres/', import.meta.url).pathname;
const QUERIES = new URL('../../queries/', import.meta.url).pathname;

export interface IsolatedPipelineOptions {
  config: Config;
  /** Database name; topics are prefixed with `<name>.`. Must be a plain identifier. */
  name: string;
  /** The platform ingest key the app accepts. */
  apiKey: string;
  /**
   * An empty Postgres database: migrated, and then the app also serves the /v1 entity API
   * (with this platform admin key), organizer keys work, and the bridge copies dimensions
   * into this pipeline's ClickHouse database.
   */
  postgres?: { url: string; adminKey: string };
  /** How long the API waits for Kafka (INGEST_KAFKA_TIMEOUT_MS); default 5000. */
  kafkaTimeoutMs?: number;
  /** Rows per Kafka engine block rendered into the migrations (default: the migrator's). */
  kafkaMaxBlockSize?: number;
  /** Dedup slot length rendered into the migrations (default: the migrator's). */
  dedupSlotSeconds?: number;
  /** Sends heartbeats to the topics every this many milliseconds, as the service does (default: none). */
  heartbeatMs?: number;
  /**
   * Also serves the push WebSocket `/v1/live` and the dashboard (as the `push` role does), with
   * these hub settings over small defaults; reach them through `listen()`.
   */
  live?: Partial<
    Pick<
      LiveHubOptions,
      | 'pollIntervalMs'
      | 'maxPendingBytes'
      | 'maxSubscriptions'
      | 'maxFeedRows'
      | 'heartbeatMs'
      | 'registry'
      | 'onDelta'
    >
  > & {
    allowedOrigins?: string[];
    /** See LiveRouteOptions.authTimeoutMs. */
    authTimeoutMs?: number;
  };
  /**
   * Live tokens, minted by the entity API and checked by `/v1/live` (default: a random secret,
   * LIVE_TOKEN_TTL_SECONDS).
   */
  liveTokens?: Partial<Pick<LiveTokensOptions, 'secret' | 'ttlSeconds'>>;
  /** Interval of `fraudRules` once started (default FRAUD_RULES_INTERVAL_MS); it only runs on `runOnce` until `fraudRules.start()`. */
  fraudRulesIntervalMs?: number;
}

/** Creates the database, topics, producer and app; `close()` deletes them all. */
export async function createIsolatedPipeline(options: IsolatedPipelineOptions) {
  const { config, name: database, apiKey } = options;
  const topicPrefix = `${database}.`;
  const kafka = createKafka(config, { retries: 2 });
  const clickhouse = createClickHouse(config);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicPrefix);
  const lag = createConsumerLag({ admin, topicPrefix, database });
  const results = await createClickHouseMigrator({
    client: clickhouse,
    dir: MIGRATIONS,
    database,
    cluster: '',
    kafkaBrokers: config.CLICKHOUSE_KAFKA_BROKERS ?? config.KAFKA_BROKERS,
    topicPrefix,
    kafkaMaxBlockSize: options.kafkaMaxBlockSize,
    dedupSlotSeconds: options.dedupSlotSeconds,
  }).migrate();
  const failed = results.find((r) => r.status === 'failed');
  if (failed) throw new Error(`migration ${failed.file} failed: ${JSON.stringify(failed.error)}`);

  const producer = ackedProducer(kafka);
  const heartbeat = options.heartbeatMs
    ? createBlockHeartbeat({
        producer: kafka.producer({ allowAutoTopicCreation: false }),
        topicPrefix,
        logger: pino({ level: 'silent' }),
        intervalMs: options.heartbeatMs,
      })
    : undefined;
  heartbeat?.start();
  const platform = new Map<string, Principal>([
    [apiKey, { kind: 'platform', name: 'isolated', scopes: ['ingest'] }],
  ]);
  const liveTokens = createLiveTokens({
    secret: options.liveTokens?.secret,
    ttlSeconds: options.liveTokens?.ttlSeconds ?? config.LIVE_TOKEN_TTL_SECONDS,
  });
  const entities = options.postgres ? await createEntities(options.postgres, platform) : undefined;
  const keys: KeyStore = entities?.keys ?? platformOnlyKeyStore(platform);

  const queries = loadNamedQueries(QUERIES);
  const hub = options.live
    ? createLiveHub({
        clickhouse,
        database,
        feeds: feedCatalog(queries),
        showOwners: entities?.api.showOwners,
        logger: pino({ level: 'silent' }),
        pollIntervalMs: 250,
        heartbeatMs: 5000,
        maxSubscriptions: 50,
        maxPendingBytes: 1024 * 1024,
        maxFeedRows: 20_000,
        ...options.live,
      })
    : undefined;
  hub?.start();
  const app: Hono = createApp({
    logger: pino({ level: 'silent' }),
    probes: [],
    healthTimeoutMs: 1000,
    ingest: {
      sink: createKafkaEventSink({
        producer,
        topicPrefix,
        timeoutMs: options.kafkaTimeoutMs ?? 5000,
        onPublished: heartbeat?.noteEvents,
      }),
      keys,
      showOwners: entities?.api.showOwners,
      // Only organizer keys are limited, and they exist only with Postgres.
      rateLimit: createIngestRateLimit({ defaultPerSecond: config.INGEST_RATE_LIMIT_PER_SECOND }),
      maxBodyBytes: 5 * 1024 * 1024,
      maxRecords: 10_000,
      retryAfterSeconds: 5,
    },
    entities: entities?.api,
    live: hub && {
      hub,
      keys,
      tokens: liveTokens,
      revocations: entities?.revocations ?? noKeyRevocations(),
      logger: pino({ level: 'silent' }),
      allowedOrigins: options.live?.allowedOrigins ?? [],
      authTimeoutMs: options.live?.authTimeoutMs,
      maxMessageBytes: 16 * 1024,
    },
    routes: hub ? [createDashboardRoutes()] : [],
  });
  let server: ServerType | undefined;

  /** Postgres side: migrations, change feed, caches, and the bridge into this database. */
  async function createEntities(
    pgOptions: { url: string; adminKey: string },
    keyMap: Map<string, Principal>,
  ) {
    const pool = createPostgresPool({ DATABASE_URL: pgOptions.url });
    const pgResults = await createPostgresMigrator({ pool, dir: PG_MIGRATIONS }).migrate();
    const pgFailed = pgResults.find((r) => r.status === 'failed');
    if (pgFailed)
      throw new Error(`postgres migration ${pgFailed.file} failed: ${JSON.stringify(pgFailed.error)}`);
    for (const [key, principal] of platformKeys({
      INGEST_API_KEYS: new Map(),
      ADMIN_API_KEY: pgOptions.adminKey,
    }))
      keyMap.set(key, principal);
    const db = createDb(pool);
    const services = createEntityServices({
      db,
      connectionString: pgOptions.url,
      logger: pino({ level: 'silent' }),
      platformKeys: keyMap,
      liveTokenTtlSeconds: liveTokens.ttlSeconds,
    });
    await services.start();
    const { keys: entityKeys, showOwners } = services;
    const bridge = createDimensionSync({
      db,
      changes: services.changes,
      clickhouse,
      database,
      logger: pino({ level: 'silent' }),
    });
    await bridge.start();
    const api: EntityApiOptions = {
      db,
      keys: entityKeys,
      showOwners,
      clickhouse,
      database,
      queries: loadNamedQueries(QUERIES),
      retryAfterSeconds: 5,
      maxIngestRecords: 10_000,
      liveTokens,
    };
    return {
      api,
      keys: entityKeys,
      revocations: services.revocations,
      pool,
      db,
      bridge,
      async close() {
        await bridge.close();
        await services.close();
        await db.destroy();
      },
    };
  }

  const fraudRules = createFraudRuleRunner({
    clickhouse,
    database,
    logger: pino({ level: 'silent' }),
    intervalMs: options.fraudRulesIntervalMs ?? config.FRAUD_RULES_INTERVAL_MS,
    lagMs: config.FRAUD_RULES_LAG_MS,
  });

  return {
    database,
    topicPrefix,
    app,
    clickhouse,
    admin,
    fraudRules,
    /** The Postgres side when `postgres` was given. */
    entities,

    async query<T>(text: string): Promise<T[]> {
      const result = await clickhouse.query({ query: text, format: 'JSONEachRow' });
      return result.json<T>();
    },

    /** The ClickHouse consumer group that reads `topic`. */
    consumerGroup: lag.consumerGroup.bind(lag),
    /** Messages of `topic` ClickHouse has not committed yet (Infinity while the broker cannot say). */
    messagesBehind: lag.messagesBehind.bind(lag),

    /** POSTs a body to /v1/events in-process. */
    post(body: unknown, contentType = 'application/json') {
      return app.request('/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': contentType },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },

    /** The live hub when `live` was given. */
    hub,

    /** Serves the app on a free local port (once) and returns its base URL, e.g. for WebSockets. */
    async listen(): Promise<string> {
      if (!server) server = (await serveApp(app, '127.0.0.1', 0)).server;
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
      return `http://127.0.0.1:${address.port}`;
    },

    async close(): Promise<void> {
      await hub?.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await fraudRules.close();
      await heartbeat?.close();
      await entities?.close();
      await producer.disconnect();
      // Dropping Kafka engine tables waits for their consumers to leave the group, which under
      // load can outlast the client's 30 s timeout; the server finishes the drop regardless.
      await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch((err: unknown) => {
        if (!/timeout/i.test(String(err))) throw err;
        console.warn(`[pipeline] DROP DATABASE ${database} is still running on the server: ${String(err)}`);
      });
      await clickhouse.close();
      await admin.deleteTopics({ topics: Object.values(topicNames(topicPrefix)) }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

export type IsolatedPipeline = Awaited<ReturnType<typeof createIsolatedPipeline>>;
