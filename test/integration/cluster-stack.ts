// The cluster topology for the integration tests that run on it: `npm run stack -- <args>
// --topology cluster` as a child process (the test starts it, and stops it only if it started it).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `scripts/stack.ts <args> --topology cluster`; its stdout. */
export async function clusterStack(...args: string[]): Promise<string> {
  const { stdout } = await run('npx', ['tsx', 'scripts/stack.ts', ...args, '--topology', 'cluster'], {
    maxBuffer: 16 << 20,
    timeout: 300_000,
  });
  return stdout;
}

/** True unless the environment points the tests at other services, where the cluster tests do not run. */
export const onLocalStack =
  process.env.KAFKA_BROKERS === undefined && process.env.CLICKHOUSE_URL === undefined;
