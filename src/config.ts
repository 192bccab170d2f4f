/**
 * The one place that reads the environment. Every setting is declared here with its
 * default and validated at start-up; components receive typed option objects.
 */
import { z } from 'zod';
import { stackPortOffset, stackPorts, stackServiceDefaults } from './local-stack.js';

export { stackPorts, type StackPorts } from './local-stack.js';

/** The parts of the service a process can run (src/service.ts). */
export const ROLES = ['api', 'rules', 'bridge', 'push'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Every variable, its default and its meaning (`.describe`): docs/configuration.md is rendered
 * from this schema by `npm run docs:config` (scripts/config-doc.ts).
 */
export const schema = z.object({
  TICKETPULSE_ROLES: z
    .string()
    .default(ROLES.join(','))
    .transform((value, ctx) => {
      const roles = value
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
      if (roles.length === 0 || unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `expected some of ${ROLES.join(', ')}; got '${value}'` });
        return z.NEVER;
      }
      return [...new Set(roles)] as Role[];
    })
    .describe(
      'Comma-separated roles this process runs: `api`, `rules`, `bridge`, `push` (default: all). Run `api` ' +
        'and `push` in as many processes as needed; `rules` elects one leader among the processes ' +
        'that run it.',
    ),
  LEADER_CHECK_INTERVAL_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(2000)
    .describe('How often a `rules` process checks (or tries to take) the leader lock.'),
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .describe(
      'Comma-separated Kafka bootstrap brokers. Set it to use an existing cluster; the stack then starts no Kafka.',
    ),
  KAFKA_CLIENT_ID: z.string().min(1).default('ticketpulse').describe('Kafka client id prefix.'),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'may contain letters, digits, dot, underscore and dash')
    .default('')
    .describe('Prefix for every topic name (`events.ticket_sale`, ...); tests use their own.'),
  KAFKA_REPLICATION_FACTOR: z.coerce
    .number()
    .int()
    .min(1)
    .max(9)
    .default(1)
    .describe(
      'Replicas of each topic `npm run migrate` creates; min.insync.replicas is 2 when this is 2 ' +
        'or more. 3 on the cluster topology (`npm run stack -- env --topology cluster`).',
    ),
  CLICKHOUSE_URL: z
    .string()
    .url()
    .describe(
      'ClickHouse HTTP endpoint. Set it to use an existing server; the stack then starts no ClickHouse.',
    ),
  CLICKHOUSE_USER: z.string().default('default').describe('ClickHouse user.'),
  CLICKHOUSE_PASSWORD: z.string().default('').describe('ClickHouse password.'),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
    .default('ticketpulse')
    .describe('Database that holds every ticketpulse table and view.'),
  CLICKHOUSE_KAFKA_BROKERS: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Brokers as the ClickHouse server reaches them, for its Kafka engine tables; defaults to `KAFKA_BROKERS`.',
    ),
  CLICKHOUSE_KAFKA_MAX_BLOCK_SIZE: z.coerce
    .number()
    .int()
    .positive()
    .default(1)
    .describe(
      'Rows per ClickHouse Kafka engine block, rendered into the Kafka tables when they are ' +
        'created: under steady traffic a row waits for its block to fill (see bench/freshness).',
    ),
  CLICKHOUSE_SHARDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe(
      'Shards of the ClickHouse cluster (with CLICKHOUSE_CLUSTER set): every event topic is then ' +
        'one topic per shard (`events.ticket_sale.s1`, ...) and the API sends each record to the ' +
        'shard of its key. Above 1 without CLICKHOUSE_CLUSTER is refused. 2 on the cluster topology.',
    ),
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^([A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain identifier or empty')
    .default('')
    .describe('Cluster name for `ON CLUSTER` in migrations; empty on a single server.'),
  CLICKHOUSE_SERVERS_CLUSTER: z
    .string()
    .regex(/^([A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain identifier or empty')
    .default('')
    .describe(
      'A cluster in remote_servers that lists every server of CLICKHOUSE_CLUSTER as a shard of its ' +
        'own (one replica each, no internal_replication). The dedup horizon job (`rules` role) empties ' +
        "each server's dedup sets and drops its old partitions `ON CLUSTER` it: ClickHouse refuses " +
        '`ALTER ... ON CLUSTER` of a table that is not replicated on a cluster of replicated shards ' +
        '(Code 371), and reads one replica per shard through `cluster()`. The `rules` role needs it ' +
        'with CLICKHOUSE_CLUSTER. `ticketpulse_servers` on the cluster topology.',
    ),
  DATABASE_URL: z
    .string()
    .min(1)
    .describe(
      'Postgres connection string. Set it to use an existing server; the stack then starts no Postgres.',
    ),
  INFLUX_URL: z
    .string()
    .url()
    .describe(
      'InfluxDB 1.x HTTP endpoint (the v2 write API). Set it to use an existing server; the stack ' +
        'then starts no InfluxDB.',
    ),
  INFLUX_TOKEN: z
    .string()
    .default('')
    .describe('InfluxDB token: empty with auth off (the local stack), `user:password` with auth on.'),
  INFLUX_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
    .default('ticketpulse')
    .describe('The InfluxDB database the bridge mirrors finished windows into (created when missing).'),
  INFLUX_RETENTION_POLICY: z
    .string()
    .min(1)
    .default('autogen')
    .describe('The retention policy the bridge writes with; `autogen` keeps everything.'),
  INFLUX_MIRROR_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5000)
    .describe('How often the bridge mirrors finished windows into InfluxDB; 0 turns the mirror off.'),
  INFLUX_BUFFER_POINTS: z.coerce
    .number()
    .int()
    .positive()
    .default(100_000)
    .describe(
      'Points held while InfluxDB is unavailable (latest value per window); past it they are ' +
        'dropped and re-read from the watermark later.',
    ),
  HOST: z.string().default('127.0.0.1').describe('Address the HTTP service (`npm start`) listens on.'),
  PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe('Port of the HTTP service; 0 takes any free one (the log says which).'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.'),
  TICKETPULSE_STACK_PORT_OFFSET: stackPortOffset.describe(
    'Added to every port of the local stack and so to the defaults of `KAFKA_BROKERS`, ' +
      '`CLICKHOUSE_URL`, `DATABASE_URL` and `INFLUX_URL`, so a second stack can run beside the ' +
      'first. At most 40000, which keeps the highest port (19093) valid.',
  ),
  INGEST_API_KEYS: z
    .string()
    .default('demo:ticketpulse-demo-key')
    .transform((value, ctx) => {
      const keys = new Map<string, string>();
      for (const pair of value
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const [name, key] = pair.split(':');
        if (!name || !key || key.length < 8) {
          ctx.addIssue({ code: 'custom', message: 'expected name:key pairs with keys of 8+ characters' });
          return z.NEVER;
        }
        keys.set(key, name);
      }
      return keys;
    })
    .describe(
      'API keys for `POST /v1/events` as `name:key` pairs, comma-separated. The default is a ' +
        'well-known key for local demos only; set your own anywhere else.',
    ),
  ADMIN_API_KEY: z
    .string()
    .min(8, 'must be at least 8 characters')
    .default('ticketpulse-admin-demo-key')
    .describe(
      "The platform administrator's key: creates organizers and acts for every organizer. The " +
        'default is a well-known key for local demos only; set your own anywhere else.',
    ),
  INGEST_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 1024 * 1024)
    .describe('Largest accepted request body, in bytes (413 above it).'),
  INGEST_RATE_LIMIT_PER_SECOND: z.coerce
    .number()
    .int()
    .positive()
    .default(5000)
    .describe(
      "Records per second an organizer's ingest key may send (averaged over 10 s) unless the key " +
        'has its own limit; per API process. Platform keys are not limited.',
    ),
  INGEST_MAX_RECORDS: z.coerce
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Most records in one request (413 above it).'),
  KAFKA_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(450)
    .default(250)
    .describe(
      'Milliseconds between the heartbeat records the service sends every topic ClickHouse reads ' +
        '(`src/kafka/block-heartbeat.ts`), so a pause in traffic never holds back the rows before ' +
        "it; 0 turns them off. Must stay under 500 (the Kafka engine's poll timeout on 18.16).",
    ),
  INGEST_MAX_IN_FLIGHT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024)
    .describe(
      'Most message bytes an API process has on their way to Kafka at once (sends past their ' +
        'deadline included); a request beyond it gets 503 `overloaded` with Retry-After at once.',
    ),
  INGEST_KAFKA_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5000)
    .describe("How long the API waits for Kafka's acknowledgement before answering 503."),
  INGEST_RETRY_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(5)
    .describe('`Retry-After` seconds sent with 503.'),
  FRAUD_RULES_INTERVAL_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(250)
    .describe('How often the fraud rule runner evaluates newly ingested sales (`src/fraud/rules/*.sql`).'),
  FRAUD_RULES_LAG_MS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(2000)
    .describe(
      'Under traffic the runner evaluates every second that a newer sale shows complete; with no ' +
        'newer sale, only sales ingested at least this long ago, so a block ClickHouse is still ' +
        'writing is never half-seen.',
    ),
  CAPACITY_ALERTS_INTERVAL_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(250)
    .describe(
      'How often the capacity alert runner compares sales with capacity (`src/capacity/alert-runner.ts`).',
    ),
  REFUND_BOOKER_INTERVAL_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(250)
    .describe(
      'How often the refund booker decides new refunds against their orders (`src/refunds/refund-booker.ts`).',
    ),
  REFUND_WAIT_HOURS: z.coerce
    .number()
    .positive()
    .max(720)
    .default(24)
    .describe(
      'How long a refund whose order ClickHouse has not seen stays `waiting` in `refund_anomalies` ' +
        '(booked as soon as the sale arrives) before it is a final `order_not_seen` anomaly.',
    ),
  DEDUP_SLOT_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .default(30_000)
    .describe(
      'Length of a dedup slot in seconds, rendered into the dedup views when migration 0011 first ' +
        'runs (later changes do not apply). An id is remembered at least 3 slots minus the horizon ' +
        "job's lead and at most 4 slots: by default 24.8 to 33.3 hours. At least 10 s: short slots " +
        'are for tests that watch a whole rotation (`test/integration/dedup-horizon.integration.test.ts`).',
    ),
  DEDUP_CHECK_INTERVAL_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(60_000)
    .describe(
      'How often the dedup horizon job checks whether a set is due to be emptied or a partition dropped.',
    ),
  LIVE_POLL_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(250)
    .default(250)
    .describe(
      'How often the push role polls each watched feed for changes (one ClickHouse query per feed ' +
        'and params); 10 to 250.',
    ),
  LIVE_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5000)
    .describe('Milliseconds between heartbeat messages on every `/v1/live` connection.'),
  LIVE_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(256)
    .default(16 * 1024)
    .describe('Largest message a `/v1/live` client may send, in bytes (the connection is closed above it).'),
  LIVE_AUTH_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe(
      'How long a `/v1/live` connection opened without a credential may take to send its `auth` ' +
        'message before it is closed.',
    ),
  LIVE_MAX_SUBSCRIPTIONS: z.coerce
    .number()
    .int()
    .positive()
    .default(50)
    .describe('Most subscriptions one `/v1/live` connection may hold.'),
  LIVE_MAX_PENDING_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024)
    .describe(
      'Bytes of deltas held for a client that reads slower than they come (coalesced by key, the ' +
        'latest value wins); past this the connection is closed with a reason.',
    ),
  LIVE_MAX_FEED_ROWS: z.coerce
    .number()
    .int()
    .positive()
    .default(20_000)
    .describe('Most rows one feed (feed and params) may hold; a subscription to a larger one is refused.'),
  LIVE_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .describe(
      'Origins (`scheme://host:port`, comma-separated) whose pages may open `/v1/live`; the ' +
        "service's own origin is always allowed, and clients that send no Origin (not browsers) are.",
    ),
  LIVE_TOKEN_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .optional()
    .describe(
      'Secret that signs and checks the short-lived live tokens (`POST /v1/live/tokens`, HMAC ' +
        'SHA-256), at least 32 characters. Unset: each process makes a random one at start-up, which ' +
        'only that process accepts; that suits one process running both `api` and `push`, and ' +
        'nothing else: set the same value on every api and push process of a deployment. Changing ' +
        'it ends every token at once.',
    ),
  LIVE_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(300)
    .describe(
      'Seconds a live token is valid after it is minted (1 to 3600). A connection is checked when ' +
        "it opens; a revoked key's tokens are refused within milliseconds through the change feed, " +
        'or at the latest when they expire.',
    ),
  HEALTH_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(2000)
    .describe('Deadline for each dependency check in `GET /healthz`, in milliseconds.'),
});

/** Validated settings, named as in the environment. */
export type Config = z.infer<typeof schema>;

/**
 * Reads and validates settings from an environment map (process.env by default).
 * Throws one error listing every invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Treat empty strings as unset so `FOO= npm start` falls back to the default.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  // The service addresses default to the local stack on its (possibly offset) ports; an
  // invalid offset is reported by the schema below along with everything else.
  const offset = stackPortOffset.safeParse(cleaned.TICKETPULSE_STACK_PORT_OFFSET);
  const defaults = stackServiceDefaults(stackPorts(offset.success ? offset.data : 0));
  const parsed = schema.safeParse({ ...defaults, ...cleaned });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (parsed.data.CLICKHOUSE_SHARDS > 1 && !parsed.data.CLICKHOUSE_CLUSTER) {
    throw new Error(
      'invalid configuration:\n  CLICKHOUSE_SHARDS: shards need a cluster; set CLICKHOUSE_CLUSTER (its name in remote_servers)',
    );
  }
  if (
    parsed.data.CLICKHOUSE_CLUSTER &&
    !parsed.data.CLICKHOUSE_SERVERS_CLUSTER &&
    parsed.data.TICKETPULSE_ROLES.includes('rules')
  ) {
    throw new Error(
      'invalid configuration:\n  CLICKHOUSE_SERVERS_CLUSTER: the rules role on a cluster needs it; set it to a ' +
        'cluster in remote_servers with every server of CLICKHOUSE_CLUSTER as a shard of its own',
    );
  }
  return parsed.data;
}

/**
 * How many shard topics each event topic has: 0 on a single server (the topic itself), else one
 * per shard (`<topic>.s<n>`), which the cluster's Kafka tables read (src/migrate/cluster-render.ts).
 */
export function topicShards(config: Pick<Config, 'CLICKHOUSE_CLUSTER' | 'CLICKHOUSE_SHARDS'>): number {
  return config.CLICKHOUSE_CLUSTER ? config.CLICKHOUSE_SHARDS : 0;
}

/** The Kafka broker list as an array. */
export function kafkaBrokers(config: Pick<Config, 'KAFKA_BROKERS'>): string[] {
  return config.KAFKA_BROKERS.split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}
