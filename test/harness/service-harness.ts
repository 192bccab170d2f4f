/**
 * The real service for one test file or bench, isolated by name only: `loadConfig` with a
 * ClickHouse database, topic prefix and Postgres database of its own, the project's migrators
 * (as `npm run migrate`), then `createService` on a free port. No second wiring: what a test
 * needs differently it sets through the environment (`env`), as an operator would.
 */
import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin, Kafka } from 'kafkajs';
import { pino } from 'pino';
import { createScratchPostgres } from '../../scripts/service-process.js';
import { clickHouseService } from '../../scripts/stack/clickhouse.js';
import { stackDirs } from '../../scripts/stack/service.js';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { createKafka } from '../../src/clients/kafka.js';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { loadConfig, topicShards, type Config } from '../../src/config.js';
import { createDb } from '../../src/db/schema.js';
import {
  consumerGroupOf,
  queueTableOf,
  shardTopicNames,
  topicNames,
  TOPIC_KINDS,
} from '../../src/kafka/topology.js';
import { shardDatabase } from '../../src/migrate/cluster-render.js';
import { createMigrators, runMigrators } from '../../src/migrate/migrators.js';
import { throwOnFailure, type MigrationResult } from '../../src/migrate/results.js';
import type { ServiceHooks } from '../../src/roles/role.js';
import { createService } from '../../src/service.js';
import { eventually } from '../integration/helpers.js';

export interface ServiceHarnessOptions {
  /** The ClickHouse and Postgres database name; topics are prefixed `<name>.`. A plain lowercase identifier. */
  name: string;
  /**
   * Settings over the process environment and the harness's own defaults: roles `api,bridge`,
   * no Kafka heartbeats, no InfluxDB mirror, port 0 on 127.0.0.1, a silent log.
   */
  env?: Record<string, string | undefined>;
  /** What the caller observes inside the service (see ServiceHooks). */
  hooks?: ServiceHooks;
  /** A platform ingest key (INGEST_API_KEYS) that `post()` sends with. */
  ingestKey?: string;
}

/** What the harness defaults to where the service's defaults suit a deployment, not a test. */
const HARNESS_DEFAULTS = {
  TICKETPULSE_ROLES: 'api,bridge',
  KAFKA_HEARTBEAT_MS: '0',
  INFLUX_MIRROR_INTERVAL_MS: '0',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'silent',
};

/**
 * Removes a test's ClickHouse database, then its topics, in that order, and the topics only once
 * the database is gone:
 * - a Kafka engine table whose topic is gone first never lets its DROP finish on 18.16 (its
 *   consumer cannot leave the group; seen: DROP DATABASE still running after 30 minutes, its 4
 *   consumers holding schedule pool threads, until the pool ran short and every Kafka table
 *   slowed);
 * - dropping Kafka engine tables waits for their consumers to leave the group, which under load
 *   can outlast the client's 30 s timeout. Deleting the topics then, while the drop still ran,
 *   aborted the server about 5 minutes later (librdkafka's `rd_kafka_cgrp_destroy_final: assert:
 *   !rkcg->rkcg_subscription`, CI 2026-12-04), so the topics wait for the drop, or stay;
 * - the same assertion has also aborted 18.16 inside a DROP with the topics in place (a consumer
 *   that had lost its group coordinator). On the local stack the harness then starts ClickHouse
 *   again, says so, and drops the database, which the restart brought back, once more: the
 *   files that run after it would otherwise fail on a server that a teardown killed.
 *   Its dump names the state: the group "in state term, coord_id 1, broker (none)", a consumer
 *   closed while it had no connection to its coordinator (a CI run, 2026-12-04, three times in
 *   one `npm test`, and the restart did not save the file whose migration was running then).
 *   So the drop first waits, up to 30 s, until the group of every attached Kafka table is
 *   Stable: its consumer has joined through its coordinator.
 */
export async function removeClickHouseAndTopics(target: {
  clickhouse: ClickHouseClient;
  admin: Admin;
  database: string;
  topicPrefix: string;
}): Promise<void> {
  const { clickhouse, admin, database, topicPrefix } = target;
  await admin.connect();
  await consumersJoined(clickhouse, admin, database);
  const drop = async () => {
    await dropViewsThenQueues(clickhouse, database);
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  };
  await drop().catch(async (err: unknown) => {
    if (/timeout/i.test(String(err))) {
      console.warn(`[harness] DROP DATABASE ${database} is still running on the server: ${String(err)}`);
      return;
    }
    if (!(await restartedAfterCrash(err))) throw err;
    // The restart attached the database's Kafka tables again: let their consumers join first.
    await consumersJoined(clickhouse, admin, database);
    await drop();
  });
  const gone = await eventually(
    async () => {
      const result = await clickhouse.query({
        query: `SELECT count() AS n FROM system.databases WHERE name = '${database}'`,
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ n: string }>();
      return Number(row?.n ?? 1) === 0;
    },
    (done) => done,
    25_000,
    1000,
  );
  if (!gone) {
    console.warn(
      `[harness] ${database} still exists 25 s after its DROP; its topics stay, so that the drop can end`,
    );
    return;
  }
  await admin.deleteTopics({ topics: Object.values(topicNames(topicPrefix)) }).catch(() => undefined);
}

/**
 * On the cluster topology: the shard database's Kafka tables closed as on one server (the views
 * they feed, then the tables: dropViewsThenQueues), each ON CLUSTER, then the shard and the
 * analysts' database on every server, then every shard topic. 18.16 aborted two servers of the
 * cluster on a plain DROP DATABASE of a shard database (librdkafka's `!rkcg->rkcg_subscription`,
 * as on one server). A teardown failure is reported, not thrown: the test's result stands.
 */
export async function removeFromCluster(
  config: Config,
  clickhouse: ClickHouseClient,
  admin: Admin,
): Promise<void> {
  const on = `ON CLUSTER ${config.CLICKHOUSE_CLUSTER}`;
  const shard = shardDatabase(config.CLICKHOUSE_DATABASE);
  try {
    await dropViewsThenQueues(clickhouse, shard, on);
    for (const database of [config.CLICKHOUSE_DATABASE, shard]) {
      await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database} ${on}` });
    }
  } catch (err) {
    console.warn(`[harness] cluster teardown of ${config.CLICKHOUSE_DATABASE} failed: ${String(err)}`);
  }
  const topics = Object.values(shardTopicNames(config.KAFKA_TOPIC_PREFIX, topicShards(config))).flat();
  await admin.deleteTopics({ topics }).catch(() => undefined);
}

/**
 * Drops the views that read the database's Kafka tables, then the Kafka tables, each on its own,
 * before the DROP DATABASE. 18.16 drops a database's tables in name order, so
 * `ticket_sales_queue` was closed in the middle of the drop, after `ticket_sales_ids` and the
 * dedup view and before `ticket_sales_rows_mv`. bench:pipeline's cleanup (a day of history, a
 * 4 GiB dedup set) made the abort above common: on 2026-12-07 three of four plain DROP DATABASEs
 * aborted on it, one after 17 s of dropping, each dump naming the `_ticket_sales` group, and one
 * DROP retried after the restart aborted too; with the views first, four of four did not. Without
 * its views a Kafka table runs no pass (the DROP of a view waits for a running one), so its
 * consumer is closed idle, with nothing else being dropped while it leaves its group. Only the
 * views a Kafka table feeds directly (`system.tables.dependencies_table`): the others run no
 * pass of their own, and the DROP DATABASE takes them. Fewer aborts, not none proven.
 */
async function dropViewsThenQueues(
  clickhouse: ClickHouseClient,
  database: string,
  onCluster = '',
): Promise<void> {
  const queues = await clickhouse
    .query({
      query: `SELECT name, dependencies_table AS views FROM system.tables
              WHERE database = '${database}' AND engine = 'Kafka'`,
      format: 'JSONEachRow',
    })
    .then((r) => r.json<{ name: string; views: string[] }>());
  const drop = (table: string) =>
    clickhouse.command({ query: `DROP TABLE IF EXISTS ${database}.${table} ${onCluster}` });
  for (const view of queues.flatMap((q) => q.views)) await drop(view);
  for (const { name } of queues) await drop(name);
}

/** Waits up to 30 s until the group of each attached Kafka table of `database` is Stable. */
async function consumersJoined(clickhouse: ClickHouseClient, admin: Admin, database: string): Promise<void> {
  const attached = await clickhouse
    .query({
      query: `SELECT name FROM system.tables WHERE database = '${database}' AND engine = 'Kafka'`,
      format: 'JSONEachRow',
    })
    .then((r) => r.json<{ name: string }>())
    .then((rows) => new Set(rows.map((r) => r.name)))
    .catch(() => new Set<string>());
  const groups = TOPIC_KINDS.filter((kind) => attached.has(queueTableOf(kind))).map((kind) =>
    consumerGroupOf(database, kind),
  );
  if (groups.length === 0) return;
  const unsettled = async () =>
    (await admin.describeGroups(groups)).groups
      .filter((g) => g.state !== 'Stable')
      .map((g) => `${g.groupId} ${g.state}`);
  const left = await eventually(unsettled, (l) => l.length === 0, 30_000, 250).catch(() => [
    '(describe failed)',
  ]);
  if (left.length > 0)
    console.warn(`[harness] dropping ${database} with consumers not joined: ${left.join(', ')}`);
}

/**
 * When a statement failed because the local stack's ClickHouse died (not a remote server, not a
 * statement error), starts it again and says so loudly; false when it did not apply.
 */
async function restartedAfterCrash(err: unknown): Promise<boolean> {
  if (process.env.CLICKHOUSE_URL) return false;
  const dirs = stackDirs();
  const server = clickHouseService(dirs);
  const isDown = () =>
    server.probe.check().then(
      () => false,
      () => true,
    );
  if (!(await isDown())) return false;
  // Files in other workers see the same crash: one of them starts the server, the others wait
  // for it (two at once left a server the stack did not track on the port, CI 2026-12-04).
  const release = await restartLock(join(dirs.run, 'clickhouse-restart.lock'));
  try {
    if (!(await isDown())) return true;
    console.warn(
      `[harness] ClickHouse is down (${String(err)}); starting it again. ` +
        'See its log (npm run stack -- logs clickhouse) for the cause.',
    );
    await server.start((line) => console.warn(`[harness] ${line}`));
    return true;
  } finally {
    release();
  }
}

/**
 * When `message` says the connection to the local stack's ClickHouse broke, waits until it
 * answers again, starting it if no other file did; false for any other failure.
 */
async function backAfterCrash(message: string): Promise<boolean> {
  if (process.env.CLICKHOUSE_URL || !/socket hang up|ECONNREFUSED|ECONNRESET/.test(message)) return false;
  // Returns once ClickHouse is up: started here, or by the file that held the restart lock.
  await restartedAfterCrash(new Error(message));
  console.warn(`[harness] ClickHouse went away under a migration (${message}); running it again`);
  return true;
}

/** An exclusive lock file across processes; a lock older than 2 minutes is taken as stale. */
async function restartLock(file: string): Promise<() => void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      closeSync(openSync(file, 'wx'));
      return () => rmSync(file, { force: true });
    } catch {
      const age = Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) rmSync(file, { force: true });
      if (Date.now() > deadline) throw new Error(`${file} held for 3 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Migrates and starts the service; `close()` stops it and drops its databases and topics. */
export async function startServiceHarness(options: ServiceHarnessOptions) {
  const { name } = options;
  const base = loadConfig();
  const postgres = await createScratchPostgres(base.DATABASE_URL, name);
  const config: Config = loadConfig({
    ...process.env,
    ...HARNESS_DEFAULTS,
    CLICKHOUSE_DATABASE: name,
    KAFKA_TOPIC_PREFIX: `${name}.`,
    DATABASE_URL: postgres.url,
    ...(options.ingestKey ? { INGEST_API_KEYS: `harness:${options.ingestKey}` } : {}),
    ...options.env,
  });
  // ON CLUSTER DDL answers once every server ran it: under a loaded machine a migration or the
  // teardown's DROP DATABASE outlasted the client's 30 s (the server waits up to 180 s).
  const clickhouse = createClickHouse(config, config.CLICKHOUSE_CLUSTER ? { request_timeout: 300_000 } : {});
  const pool = createPostgresPool(config, 2);
  const kafka: Kafka = createKafka(config, { retries: 2 });
  const admin = kafka.admin();
  const service = createService(config, pino({ level: config.LOG_LEVEL }), options.hooks);

  /** Stops the service and removes what the harness made, its clients last. */
  async function teardown(): Promise<void> {
    await service.close();
    await pool.end();
    if (config.CLICKHOUSE_CLUSTER) await removeFromCluster(config, clickhouse, admin);
    else {
      await removeClickHouseAndTopics({
        clickhouse,
        admin,
        database: name,
        topicPrefix: config.KAFKA_TOPIC_PREFIX,
      });
    }
    await clickhouse.close();
    await admin.disconnect();
    await postgres.drop();
  }

  try {
    await admin.connect();
    // Another file's teardown can take 18.16 down under this migration (see
    // removeClickHouseAndTopics): once it is back, the migrations run again (each is a no-op
    // once applied, and a failed one runs again whole). Up to 3 tries: a pooled socket of the
    // old server can fail the first statement after the restart.
    const migrate = () =>
      runMigrators(createMigrators(config, { pool, clickhouse }), 'migrate').catch(
        (err: unknown): MigrationResult[] => [
          {
            target: 'clickhouse',
            file: '(migrator)',
            status: 'failed',
            statements: 0,
            duration_ms: 0,
            error: { statement: '', code: 'thrown', message: String(err) },
          },
        ],
      );
    let results = await migrate();
    for (let attempt = 1; attempt < 3; attempt++) {
      const failed = results.find((r) => r.status === 'failed');
      if (!failed || !(await backAfterCrash(JSON.stringify(failed)))) break;
      results = await migrate();
    }
    throwOnFailure(results);
    if (!service.app) throw new Error(`the roles ${config.TICKETPULSE_ROLES.join(',')} serve no HTTP app`);
    await service.start();
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
  const app = service.app;

  return {
    config,
    database: config.CLICKHOUSE_DATABASE,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    /** The service's HTTP app, for in-process `app.request()`. */
    app,
    /** Where the service listens, e.g. for WebSockets. */
    baseUrl: service.url()!,
    /** The service's bridge role (its dimension sync), when it runs one. */
    bridge: service.bridge,
    /** Clients of the test's own on the same databases and broker. */
    clickhouse,
    kafka,
    admin,
    postgres: { url: postgres.url, pool, db: createDb(pool) },

    async query<T>(text: string): Promise<T[]> {
      const result = await clickhouse.query({ query: text, format: 'JSONEachRow' });
      return result.json<T>();
    },

    /** An in-process request with `key` (none when undefined) and a JSON body; the parsed answer. */
    async request(method: string, path: string, key: string | undefined, body?: unknown) {
      const res = await app.request(path, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- callers assert on the body
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
    },

    /** POSTs a body to /v1/events in-process, with `ingestKey`. */
    post(body: unknown, contentType = 'application/json') {
      return app.request('/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${options.ingestKey}`, 'content-type': contentType },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },

    close: teardown,
  };
}

export type ServiceHarness = Awaited<ReturnType<typeof startServiceHarness>>;
