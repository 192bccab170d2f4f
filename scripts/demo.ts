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
const children: ChildProcess[] = [];
const service = spawn('npm', ['start', '--silent'], {
  stdio: 'inherit',
  env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
});
children.push(service);
const stopAll = (signal: NodeJS.Signals) => children.forEach((child) => child.kill(signal));
process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
service.on('exit', (code) => process.exit(code ?? 0));

const base = `http://${config.HOST}:${config.PORT}`;
await waitUntil(async () => {
  const res = await fetch(`${base}/healthz`);
  if (!res.ok) throw new Error(`GET /healthz answered ${res.status}`);
}, 30_000);
console.log(`ticketpulse is up on ${base} (GET /healthz, POST /v1/events)`);
console.log(
  `ClickHouse: curl '${config.CLICKHOUSE_URL}' --data-binary 'SELECT count() FROM ${config.CLICKHOUSE_DATABASE}.ticket_sales'`,
);
console.log('Ctrl-C stops the service and the traffic; `npm run stack -- down` stops the stack.\n');
children.push(spawn('npm', ['run', '--silent', 'simulate', '--', '--duration', '0'], { stdio: 'inherit' }));
