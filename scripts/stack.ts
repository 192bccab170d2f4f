/**
 * `npm run stack -- up|down|status|logs|reset`: installs and runs Kafka, ClickHouse, Postgres
 * and InfluxDB natively on 127.0.0.1 (no Docker engine needed). A service whose variable
 * (KAFKA_BROKERS, CLICKHOUSE_URL, DATABASE_URL, INFLUX_URL) is set is treated as external: the
 * stack starts nothing for it and only checks that it answers.
 */
import { Command } from 'commander';
import Table from 'cli-table3';
import { mkdirSync, rmSync } from 'node:fs';
import { loadConfig } from '../src/config.js';
import { createConfiguredProbes, runProbes, type Probe } from '../src/health/probes.js';
import { clickHouseService } from './stack/clickhouse.js';
import { kafkaService } from './stack/kafka.js';
import { postgresService } from './stack/postgres.js';
import { influxService } from './stack/influxdb.js';
import { createInflux } from '../src/clients/influx.js';
import { tailFile } from './stack/processes.js';
import { stackDirs, type StackService } from './stack/service.js';
import { downAmong } from './stack/status.js';

const config = loadConfig();
const dirs = stackDirs();
for (const dir of [dirs.root, dirs.logs, dirs.run]) mkdirSync(dir, { recursive: true });

const services: StackService[] = [
  kafkaService(dirs),
  clickHouseService(dirs),
  postgresService(dirs),
  influxService(dirs),
];

const configured = createConfiguredProbes(config, 2000);
const external: Record<StackService['name'], Probe | undefined> = {
  kafka: process.env.KAFKA_BROKERS ? configured.kafka : undefined,
  clickhouse: process.env.CLICKHOUSE_URL ? configured.clickhouse : undefined,
  postgres: process.env.DATABASE_URL ? configured.postgres : undefined,
  influxdb: process.env.INFLUX_URL ? createInflux(config).probe : undefined,
};

const log = (line: string): void => console.log(`[stack] ${line}`);
const local = services.filter((s) => external[s.name] === undefined);

async function up(names: string[], quiet: boolean): Promise<void> {
  const unknown = names.filter((name) => !services.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(`[stack] no service ${unknown.join(', ')}: name kafka, clickhouse, postgres or influxdb`);
    process.exitCode = 1;
    return;
  }
  for (const service of local.filter((s) => names.length === 0 || names.includes(s.name))) {
    const started = performance.now();
    try {
      await service.install(log);
      await service.start(log);
    } catch (err) {
      console.error(`\n[stack] ${service.name} failed to start: ${describe(err)}`);
      console.error(`[stack] last lines of ${service.logFile}:\n${tailFile(service.logFile, 30)}`);
      process.exitCode = 1;
      return;
    }
    if (!quiet) log(`${service.name} is up (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  // The table shows every service; only those asked for decide the exit status (npm run demo
  // starts InfluxDB after the others, so on a fresh machine it is still down here).
  if (!quiet) await status(names);
}

async function down(): Promise<void> {
  // ClickHouse first: its Kafka consumers then leave their groups cleanly.
  for (const name of ['clickhouse', 'kafka', 'postgres', 'influxdb'] as const) {
    const service = local.find((s) => s.name === name);
    if (service === undefined) continue;
    const stopped = await service.stop();
    log(stopped ? `${name} stopped` : `${name} was not running`);
  }
}

/** Prints every service; exits 1 when one of `counted` (default: all) does not answer. */
async function status(counted: string[] = []): Promise<void> {
  const probes = services.map((s) => external[s.name] ?? s.probe);
  const results = await runProbes(probes, 3000);
  const table = new Table({
    head: ['service', 'mode', 'pid', 'address', 'health', 'latency'],
    style: { head: [], border: [] },
  });
  services.forEach((service, i) => {
    const result = results[i];
    const isExternal = external[service.name] !== undefined;
    table.push([
      service.name,
      isExternal ? 'external' : 'local',
      isExternal ? '-' : String(service.pid() ?? '-'),
      result?.address ?? service.address,
      result?.status === 'up' ? 'up' : `down: ${result?.error ?? '?'}`,
      `${result?.latency_ms ?? '-'} ms`,
    ]);
  });
  console.log(table.toString());
  const named = services.map((s, i) => ({ name: s.name, status: results[i]?.status ?? 'down' }));
  if (downAmong(named, counted).length > 0) process.exitCode = 1;
}

function logs(name: string | undefined, lines: number): void {
  for (const service of services.filter((s) => name === undefined || s.name === name)) {
    console.log(`==> ${service.logFile} <==\n${tailFile(service.logFile, lines)}\n`);
  }
}

async function reset(): Promise<void> {
  await down();
  for (const service of local) service.resetData();
  rmSync(dirs.run, { recursive: true, force: true });
  log('data removed (installed jars and packages kept)');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

const program = new Command('stack').description('the local Kafka + ClickHouse + Postgres + InfluxDB stack');
program
  .command('up')
  .argument('[services...]', 'only these (kafka clickhouse postgres influxdb); default: all')
  .description('install what is missing and start every service, or the ones named')
  .option('-q, --quiet', 'print only problems')
  .action((names: string[], opts: { quiet?: boolean }) => up(names, opts.quiet === true));
program.command('down').description('stop the processes this stack started').action(down);
program
  .command('status')
  .description('show each service, its address and whether it answers')
  .action(() => status());
program
  .command('logs')
  .argument('[service]', 'kafka | clickhouse | postgres | influxdb')
  .option('-n, --lines <n>', 'lines per log', '50')
  .description('print the last lines of each service log')
  .action((name: string | undefined, opts: { lines: string }) => logs(name, Number(opts.lines)));
program.command('reset').description('stop everything and delete its data').action(reset);

await program.parseAsync();
// Probe clients hold sockets and timers; the command is done.
process.exit();
