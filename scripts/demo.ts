/**
 * `npm run demo`: the quick start. Brings up the local stack, applies migrations, starts the
 * service and feeds it simulated traffic until Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { loadConfig } from '../src/config.js';

const config = loadConfig();

function step(title: string, args: string[]): void {
  console.log(`\n== ${title}`);
  const result = spawnSync('npm', ['run', '--silent', ...args], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n${title} failed (exit ${result.status}); see the output above.`);
    process.exit(result.status ?? 1);
  }
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s`);
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
await waitHealthy(`${base}/healthz`, 30_000);
console.log(`ticketpulse is up on ${base} (GET /healthz, POST /v1/events)`);
console.log(
  `ClickHouse: curl '${config.CLICKHOUSE_URL}' --data-binary 'SELECT count() FROM ${config.CLICKHOUSE_DATABASE}.ticket_sales'`,
);
console.log('Ctrl-C stops the service and the traffic; `npm run stack -- down` stops the stack.\n');
children.push(spawn('npm', ['run', '--silent', 'simulate', '--', '--duration', '0'], { stdio: 'inherit' }));
