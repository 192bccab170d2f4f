/**
 * `npm start`: the ticketpulse service process. Serves the HTTP API (for now `GET /healthz`)
 * and shuts down cleanly on SIGINT/SIGTERM.
 */
import { serve } from '@hono/node-server';
import { kafkaBrokers, loadConfig } from './config.js';
import { createApp } from './api/app.js';
import { createClickHouse } from './clients/clickhouse.js';
import { createKafka } from './clients/kafka.js';
import { createPostgresPool } from './clients/postgres.js';
import { clickHouseProbe, kafkaProbe, postgresProbe, redactUrl } from './health/probes.js';
import { createLogger } from './logger.js';

const config = loadConfig();
const logger = createLogger(config);
const kafka = createKafka(config, { retries: 0 });
const clickhouse = createClickHouse(config, { request_timeout: config.HEALTH_TIMEOUT_MS });
const pool = createPostgresPool(config);

const app = createApp({
  logger,
  healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
  probes: [
    kafkaProbe(kafka, kafkaBrokers(config).join(',')),
    clickHouseProbe(clickhouse, redactUrl(config.CLICKHOUSE_URL)),
    postgresProbe(pool, redactUrl(config.DATABASE_URL)),
  ],
});

const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) => {
  logger.info({ address: `http://${info.address}:${info.port}` }, 'ticketpulse listening');
});

async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, 'shutting down');
  server.close();
  await Promise.allSettled([clickhouse.close(), pool.end()]);
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
