/**
 * `npm run stack -- up|down|status|logs|reset|env [--topology single|cluster]`: installs and runs
 * the stack natively on 127.0.0.1 (no Docker engine needed). The single-node topology (the
 * default) is Kafka, ClickHouse, Postgres and InfluxDB; the cluster topology is three Kafka
 * brokers, ZooKeeper, ClickHouse as 2 shards x 2 replicas, Postgres and InfluxDB
 * (scripts/stack/topology.ts). On the single-node topology a service whose variable
 * (KAFKA_BROKERS, CLICKHOUSE_URL, DATABASE_URL, INFLUX_URL) is set is treated as external: the
 * stack starts nothing for it and only checks that it answers. On the cluster only Postgres and
 * InfluxDB can be external; they are the single-node stack's, so the cluster's `down` and
 * `reset` leave them alone.
 */
import { Command, Option } from 'commander';
import Table from 'cli-table3';
import { mkdirSync, rmSync } from 'node:fs';
import { loadConfig } from '../src/config.js';
import { createConfiguredProbes, runProbes, type Probe } from '../src/health/probes.js';
import { createInflux } from '../src/clients/influx.js';
import { tailFile } from './stack/processes.js';
import { stackDirs, type ServiceKind, type StackService } from './stack/service.js';
import { downAmong } from './stack/status.js';
import {
  TOPOLOGIES,
  topologyEnv,
  topologyServices,
  type Topology,
  type TopologyNode,
} from './stack/topology.js';

const config = loadConfig();
const dirs = stackDirs();
for (const dir of [dirs.root, dirs.logs, dirs.run]) mkdirSync(dir, { recursive: true });

const configured = createConfiguredProbes(config, 2000);
/** Services the environment points elsewhere: checked, never started. */
function externalProbe(kind: ServiceKind, topology: Topology): Probe | undefined {
  const shared = {
    postgres: process.env.DATABASE_URL ? configured.postgres : undefined,
    influxdb: process.env.INFLUX_URL ? createInflux(config).probe : undefined,
  };
  if (kind === 'postgres' || kind === 'influxdb') return shared[kind];
  if (topology === 'cluster') return undefined;
  if (kind === 'kafka') return process.env.KAFKA_BROKERS ? configured.kafka : undefined;
  if (kind === 'clickhouse') return process.env.CLICKHOUSE_URL ? configured.clickhouse : undefined;
  return undefined;
}

const log = (line: string): void => console.log(`[stack] ${line}`);

interface Node extends TopologyNode {
  external?: Probe;
}

function nodesOf(topology: Topology): Node[] {
  return topologyServices(topology, dirs).map((n) => ({
    ...n,
    external: externalProbe(n.service.kind, topology),
  }));
}

/** A node is asked for by its name or its kind (`up clickhouse` starts every ClickHouse replica). */
function isAsked(node: Node, names: string[]): boolean {
  return names.length === 0 || names.includes(node.service.name) || names.includes(node.service.kind);
}

async function up(topology: Topology, names: string[], quiet: boolean): Promise<void> {
  const nodes = nodesOf(topology);
  const unknown = names.filter(
    (name) => !nodes.some((n) => n.service.name === name || n.service.kind === name),
  );
  if (unknown.length > 0) {
    const known = [...new Set(nodes.flatMap((n) => [n.service.kind, n.service.name]))].join(', ');
    console.error(
      `[stack] no service ${unknown.join(', ')} on the ${topology} topology: name one of ${known}`,
    );
    process.exitCode = 1;
    return;
  }
  const wanted = nodes.filter((n) => n.external === undefined && isAsked(n, names));
  for (const group of [...new Set(wanted.map((n) => n.group))]) {
    const together = wanted.filter((n) => n.group === group);
    const failures = await Promise.all(together.map((n) => startNode(n.service, quiet)));
    if (failures.some(Boolean)) {
      process.exitCode = 1;
      return;
    }
  }
  // The table shows every service; only those asked for decide the exit status (npm run demo
  // starts InfluxDB after the others, so on a fresh machine it is still down here).
  if (!quiet) await status(topology, names, false);
}

/** Installs and starts one node; true if it failed (its log's last lines are printed). */
async function startNode(service: StackService, quiet: boolean): Promise<boolean> {
  const started = performance.now();
  try {
    await service.install(log);
    await service.start(log);
  } catch (err) {
    console.error(`\n[stack] ${service.name} failed to start: ${describe(err)}`);
    console.error(`[stack] last lines of ${service.logFile}:\n${tailFile(service.logFile, 30)}`);
    return true;
  }
  if (!quiet) log(`${service.name} is up (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return false;
}

async function down(topology: Topology): Promise<void> {
  // ClickHouse first: its Kafka consumers then leave their groups cleanly; ZooKeeper after the
  // replicas that use it.
  const order: ServiceKind[] = ['clickhouse', 'kafka', 'zookeeper', 'postgres', 'influxdb'];
  const nodes = nodesOf(topology).filter((n) => n.external === undefined && !n.shared);
  const shared = nodesOf(topology).filter((n) => n.shared);
  if (shared.length > 0)
    log(
      `${shared.map((n) => n.service.name).join(' and ')}: shared with the single-node stack, left running`,
    );
  for (const kind of order) {
    await Promise.all(
      nodes
        .filter((n) => n.service.kind === kind)
        .map(async ({ service }) => {
          const stopped = await service.stop();
          log(stopped ? `${service.name} stopped` : `${service.name} was not running`);
        }),
    );
  }
}

/**
 * Prints every node (a table, or with `json` one object per node: name, kind, role, address,
 * pid, state); exits 1 when one of `counted` (default: all) does not answer.
 */
async function status(topology: Topology, counted: string[] = [], json: boolean): Promise<void> {
  const nodes = nodesOf(topology);
  const results = await runProbes(
    nodes.map((n) => n.external ?? n.service.probe),
    3000,
  );
  const rows = nodes.map(({ service, external }, i) => {
    const result = results[i];
    return {
      name: service.name,
      kind: service.kind,
      role: service.role,
      mode: external ? 'external' : 'local',
      address: result?.address ?? service.address,
      pid: external ? null : (service.pid() ?? null),
      state: result?.status === 'up' ? 'up' : 'down',
      error: result?.status === 'up' ? undefined : (result?.error ?? '?'),
      latency_ms: result?.latency_ms ?? null,
      log: service.logFile,
    };
  });
  if (json) console.log(JSON.stringify({ topology, nodes: rows }, null, 2));
  else {
    const table = new Table({
      head: ['service', 'role', 'mode', 'pid', 'address', 'health', 'latency'],
      style: { head: [], border: [] },
    });
    for (const row of rows) {
      table.push([
        row.name,
        row.role,
        row.mode,
        String(row.pid ?? '-'),
        row.address,
        row.state === 'up' ? 'up' : `down: ${row.error}`,
        `${row.latency_ms ?? '-'} ms`,
      ]);
    }
    console.log(table.toString());
  }
  const asked = nodes.filter((n) => counted.length > 0 && isAsked(n, counted)).map((n) => n.service.name);
  const named = rows.map((r) => ({ name: r.name, status: r.state as 'up' | 'down' }));
  if (downAmong(named, counted.length > 0 ? asked : []).length > 0) process.exitCode = 1;
}

function logs(topology: Topology, name: string | undefined, lines: number): void {
  for (const { service } of nodesOf(topology)) {
    if (name !== undefined && service.name !== name && service.kind !== name) continue;
    console.log(`==> ${service.logFile} <==\n${tailFile(service.logFile, lines)}\n`);
  }
}

async function reset(topology: Topology): Promise<void> {
  await down(topology);
  for (const { service, external, shared } of nodesOf(topology)) {
    if (external === undefined && !shared) service.resetData();
  }
  if (topology === 'single') rmSync(dirs.run, { recursive: true, force: true });
  log('data removed (installed jars and packages kept)');
}

/** `export NAME=value` lines pointing the service, tests and tools at the topology. */
function env(topology: Topology): void {
  for (const [name, value] of Object.entries(topologyEnv(topology, dirs)))
    console.log(`export ${name}=${value}`);
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

const topologyOption = () =>
  new Option('-t, --topology <topology>', 'single node, or the cluster')
    .choices(TOPOLOGIES)
    .default('single');
type WithTopology = { topology: Topology };

const program = new Command('stack').description(
  'the local stack: Kafka, ClickHouse, Postgres, InfluxDB (and ZooKeeper on the cluster)',
);
program
  .command('up')
  .argument(
    '[services...]',
    'only these, by kind (kafka clickhouse zookeeper postgres influxdb) or node name',
  )
  .description('install what is missing and start every service, or the ones named')
  .addOption(topologyOption())
  .option('-q, --quiet', 'print only problems')
  .action((names: string[], opts: WithTopology & { quiet?: boolean }) =>
    up(opts.topology, names, opts.quiet === true),
  );
program
  .command('down')
  .description('stop the processes this stack started')
  .addOption(topologyOption())
  .action((opts: WithTopology) => down(opts.topology));
program
  .command('status')
  .description('show each node, its role, address and pid, and whether it answers')
  .addOption(topologyOption())
  .option('--json', 'one JSON object per node')
  .action((opts: WithTopology & { json?: boolean }) => status(opts.topology, [], opts.json === true));
program
  .command('logs')
  .argument('[service]', 'a kind (kafka | clickhouse | zookeeper | postgres | influxdb) or a node name')
  .addOption(topologyOption())
  .option('-n, --lines <n>', 'lines per log', '50')
  .description('print the last lines of each service log')
  .action((name: string | undefined, opts: WithTopology & { lines: string }) =>
    logs(opts.topology, name, Number(opts.lines)),
  );
program
  .command('reset')
  .description('stop everything and delete its data')
  .addOption(topologyOption())
  .action((opts: WithTopology) => reset(opts.topology));
program
  .command('env')
  .description("print the service's variables for the topology, as export lines")
  .addOption(topologyOption())
  .action((opts: WithTopology) => env(opts.topology));

await program.parseAsync();
// Probe clients hold sockets and timers; the command is done.
process.exit();
