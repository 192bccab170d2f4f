/**
 * `npm run demo`: the quick start. Brings up the local stack, applies migrations and runs
 * the service in the foreground until Ctrl-C.
 */
import { spawnSync, spawn } from 'node:child_process';

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

console.log('\n== starting ticketpulse (Ctrl-C to stop; `npm run stack -- down` stops the stack)');
const service = spawn('npm', ['start', '--silent'], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => service.kill(signal));
}
service.on('exit', (code) => process.exit(code ?? 0));
