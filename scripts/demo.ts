/**
 * `npm run demo`: the quick start. Brings up the local stack, applies migrations, starts the
 * service and feeds it simulated traffic until Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { loadConfig } from '../src/config.js';
import { waitUntil } from './stack/processes.js';

const config = loadConfig();

function step(title: string, args: string[]): void {
  console.log(`\n== ${title}`);
  const result = spawnSync('npm', ['run', '--silent', ...args], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n${title} failed (exit ${result.status}); see the output above.`);
    process.exit(result.status ?? 1);
  }
}

// InfluxDB last and in the background: on a fresh machine it is built from source (about 15
// minutes), and only the mirror needs it. The mirror buffers meanwhile and catches up from its
// watermark; /healthz says `degraded` (influxdb down, optional) until then.
step('starting the stack (InfluxDB follows in the background)', [
  'stack',
  '--',
  'up',
  'kafka',
  'clickhouse',
  'postgres',
]);
step('applying migrations', ['migrate']);

const influx = spawn('npm', ['run', '--silent', 'stack', '--', 'up', '--quiet', 'influxdb'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
// Its progress lines (a build prints one every few seconds) go to the terminal, marked.
for (const stream of [influx.stdout, influx.stderr]) {
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean))
      console.log(`[influxdb, background] ${line}`);
  });
}
influx.on('exit', (code) => {
  console.log(
    code === 0
      ? '[influxdb, background] InfluxDB is up: the mirror writes what it buffered'
      : `[influxdb, background] InfluxDB did not start (exit ${code}); the demo runs on without the mirror (npm run stack -- logs influxdb)`,
  );
});

console.log('\n== starting ticketpulse');
// Each child runs in its own process group (npm -> sh -> tsx -> node): a signal to the group
// reaches the process that does the work, not only npm. Ctrl-C in a terminal reaches them all
// anyway; SIGTERM sent to this script alone (a supervisor, `kill`) is passed on here.
// The background InfluxDB start is stopped with the rest (a build in progress ends).
const children: ChildProcess[] = [influx];
function start(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn('npm', args, { stdio: 'inherit', env, detached: true });
  children.push(child);
  return child;
}
let stopping = false;
async function stopAll(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  const exited = children.map(
    (child) =>
      new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
      ),
  );
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    }
  }
  await Promise.all(exited);
  process.exit(0);
}
process.on('SIGINT', () => void stopAll('SIGINT'));
process.on('SIGTERM', () => void stopAll('SIGTERM'));
const service = start(['start', '--silent'], { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
// The service ending on its own ends the demo (and the traffic with it).
service.on('exit', (code) => {
  if (!stopping) void stopAll('SIGTERM').then(() => process.exit(code ?? 0));
});

const base = `http://${config.HOST}:${config.PORT}`;
await waitUntil(async () => {
  const res = await fetch(`${base}/healthz`);
  if (!res.ok) throw new Error(`GET /healthz answered ${res.status}`);
}, 30_000);
console.log(`ticketpulse is up on ${base} (GET /healthz, POST /v1/events)`);
console.log(
  `ClickHouse: curl '${config.CLICKHOUSE_URL}' --data-binary 'SELECT count() FROM ${config.CLICKHOUSE_DATABASE}.ticket_sales'`,
);
console.log(`Live dashboard: ${base}/dashboard?key=${encodeURIComponent(config.ADMIN_API_KEY)}`);
console.log('Ctrl-C stops the service and the traffic; `npm run stack -- down` stops the stack.\n');
start(['run', '--silent', 'simulate', '--', '--duration', '0']);
