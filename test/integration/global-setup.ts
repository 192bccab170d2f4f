// Fails the integration suite early, with the fix, when the stack does not answer.
import { loadConfig } from '../../src/config.js';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { createKafka } from '../../src/clients/kafka.js';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { clickHouseProbe, kafkaProbe, postgresProbe, runProbes } from '../../src/health/probes.js';

export default async function checkStack(): Promise<void> {
  const config = loadConfig();
  const pool = createPostgresPool(config, 1);
  const clickhouse = createClickHouse(config, { request_timeout: 5000 });
  try {
    const results = await runProbes(
      [
        kafkaProbe(createKafka(config, { retries: 1 }), config.KAFKA_BROKERS),
        clickHouseProbe(clickhouse, config.CLICKHOUSE_URL),
        postgresProbe(pool, 'postgres'),
      ],
      10_000,
    );
    const down = results.filter((r) => r.status === 'down');
    if (down.length > 0) {
      const lines = down.map((r) => `  ${r.name} (${r.address}): ${r.error ?? 'down'}`).join('\n');
      throw new Error(
        `integration tests need the stack; these did not answer:\n${lines}\n` +
          'start it with `npm run stack -- up`, or point KAFKA_BROKERS / CLICKHOUSE_URL / DATABASE_URL at running services',
      );
    }
  } finally {
    await pool.end();
    await clickhouse.close();
  }
}
