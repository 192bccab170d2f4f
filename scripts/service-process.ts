// The real service (`tsx src/main.ts`) as a child process, isolated only by its environment:
// the fault suite kills it with -9, bench:pipeline runs several and reads their CPU from /proc.
// Its output goes to a log file named in failures.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

const REPO = new URL('../', import.meta.url).pathname;
const TSX = join(REPO, 'node_modules/.bin/tsx');

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Runs a repository command (e.g. `src/migrate/cli.ts`) with tsx and this environment; throws with its output on failure. */
export function runTsx(script: string, args: string[], env: NodeJS.ProcessEnv): string {
  const result = spawnSync(TSX, [join(REPO, script), ...args], { cwd: REPO, env, encoding: 'utf8' });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${result.status}:\n${output}`);
  return output;
}

export interface ServiceProcess {
  baseUrl: string;
  logFile: string;
  /** The running process's pid (undefined before start and after exit). */
  pid(): number | undefined;
  /** Starts the process and waits until it is ready (answers HTTP, unless told otherwise). */
  start(): Promise<void>;
  /** kill -9, and waits until it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean shutdown), and waits until it is gone. */
  stop(): Promise<void>;
}

/**
 * `ready` says when a started process counts as up; the default is that it answers
 * `/healthz`. A process whose roles serve no HTTP (only `rules` or `bridge`: src/service.ts starts
 * the server for `api` and `push`) needs a check of its own, e.g. its connection in Postgres.
 */
export function createServiceProcess(
  env: NodeJS.ProcessEnv,
  port: number,
  logFile: string,
  ready?: () => Promise<boolean>,
): ServiceProcess {
  const baseUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function answers(): Promise<boolean> {
    try {
      await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      return true;
    } catch {
      return false;
    }
  }

  async function signal(name: NodeJS.Signals): Promise<void> {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(name);
    await exited;
    if (await answers()) throw new Error(`something still answers on ${baseUrl} after the service exited`);
  }

  return {
    baseUrl,
    logFile,
    pid: () => (child?.exitCode === null && child.signalCode === null ? child.pid : undefined),
    async start() {
      if (await answers()) throw new Error(`something already answers on ${baseUrl}`);
      const fd = openSync(logFile, 'a');
      try {
        // node with tsx's loader, not the tsx CLI: the CLI runs the service in a child process
        // of its own, which a kill -9 of the CLI would leave running.
        child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/main.ts')], {
          cwd: REPO,
          env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
          stdio: ['ignore', fd, fd],
        });
      } finally {
        closeSync(fd);
      }
      const started = child;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      const deadline = Date.now() + 60_000;
      while (!(await (ready ?? answers)())) {
        if (started.exitCode !== null)
          throw new Error(`the service exited ${started.exitCode}; see ${logFile}`);
        if (Date.now() > deadline) throw new Error(`the service was not ready within 60 s; see ${logFile}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}

/** A new Postgres database `name` on the server of `databaseUrl`; `drop()` removes it. */
export async function createScratchPostgres(
  databaseUrl: string,
  name: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
