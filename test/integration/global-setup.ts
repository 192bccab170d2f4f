// Makes sure the integration suite has a real stack, or fails early saying how to get one:
// 1. KAFKA_BROKERS / CLICKHOUSE_URL / DATABASE_URL / INFLUX_URL (or the native stack's defaults)
//    answer: use them.
// 2. Otherwise, where a Docker engine runs, start docker-compose.yml's services with testcontainers.
// 3. Otherwise fail with the command that starts the native stack.
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../../src/config.js';
import { createInflux } from '../../src/clients/influx.js';
import { createConfiguredProbes, runProbes, type ProbeResult } from '../../src/health/probes.js';

async function probeStack(): Promise<ProbeResult[]> {
  const config = loadConfig();
  const probes = createConfiguredProbes(config, 5000);
  try {
    return (await runProbes([...probes.all, createInflux(config).probe], 10_000)).filter(
      (r) => r.status === 'down',
    );
  } finally {
    await probes.close();
  }
}

function dockerEngineRuns(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

export default async function ensureStack(): Promise<(() => Promise<void>) | void> {
  const down = await probeStack();
  if (down.length === 0) return;

  if (dockerEngineRuns()) {
    // Same host ports as the native stack, so only ClickHouse's view of Kafka differs.
    const { DockerComposeEnvironment, Wait } = await import('testcontainers');
    const compose = await new DockerComposeEnvironment(
      new URL('../../', import.meta.url).pathname,
      'docker-compose.yml',
    )
      .withWaitStrategy('kafka-1', Wait.forHealthCheck())
      .withWaitStrategy('clickhouse-1', Wait.forHealthCheck())
      .withWaitStrategy('postgres-1', Wait.forHealthCheck())
      .withWaitStrategy('influxdb-1', Wait.forHealthCheck())
      .up(['kafka', 'clickhouse', 'postgres', 'influxdb']);
    process.env.CLICKHOUSE_KAFKA_BROKERS = 'kafka:29092';
    return async function stopCompose() {
      await compose.down();
    };
  }

  const lines = down.map((r) => `  ${r.name} (${r.address}): ${r.error ?? 'down'}`).join('\n');
  throw new Error(
    `integration tests need the stack; these did not answer:\n${lines}\n` +
      'start it with `npm run stack -- up`, or point KAFKA_BROKERS / CLICKHOUSE_URL / DATABASE_URL / INFLUX_URL at running services',
  );
}
