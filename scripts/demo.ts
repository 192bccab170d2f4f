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

step('starting the stack', ['stack', '--', 'up']);
step('applying migrations', ['migrate']);

console.log('\n== starting ticketpulse');
// Each child runs in its own process group (npm -> sh -> tsx -> node): a signal to the group
// reaches the process that does the work, not only npm. Ctrl-C in a terminal reaches them all
// anyway; SIGTERM sent to this script alone (a supervisor, `kill`) is passed on here.
const children: ChildProcess[] = [];
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
