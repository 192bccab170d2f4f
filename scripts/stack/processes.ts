/**
 * Starting, finding and stopping the stack's own background processes. Every process we
 * start gets a pid file; we only ever signal a pid whose command line still matches what we
 * started, so a recycled pid is never killed.
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createConnection } from 'node:net';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** A process the stack started and tracks by pid file. */
export interface Tracked {
  pidFile: string;
  /** A fragment of the command line that identifies the process (e.g. its config path). */
  marker: string;
}

/**
 * Starts a detached process whose stdout and stderr go to `logFile`; writes its pid file.
 * Returns whether the process is still alive as this process saw it start: its own exit
 * event, not the pid file, since until the exec completes `/proc/<pid>/cmdline` is still
 * node's and does not match the marker (under load, `stack up` once took a starting
 * InfluxDB for one that had exited).
 */
export function startDetached(
  command: string,
  args: string[],
  options: { logFile: string; pidFile: string; cwd?: string; env?: NodeJS.ProcessEnv },
): () => boolean {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    let exited = false;
    child.once('exit', () => (exited = true));
    child.once('error', () => (exited = true));
    child.unref();
    writeFileSync(options.pidFile, `${child.pid}\n`);
    return () => !exited;
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts a tracked service detached (output to `logFile`, pid in its pid file) and waits up to
 * `timeoutMs` for `check` to pass, giving up early if the process exits.
 */
export async function startTracked(
  tracked: Tracked,
  command: string,
  args: string[],
  options: { logFile: string; cwd: string; check: () => Promise<void>; timeoutMs: number },
): Promise<void> {
  const alive = startDetached(command, args, {
    logFile: options.logFile,
    pidFile: tracked.pidFile,
    cwd: options.cwd,
  });
  await waitUntil(options.check, options.timeoutMs, alive);
}

/** The pid recorded in the pid file if that process is alive and still ours. */
export function runningPid(tracked: Tracked): number | undefined {
  if (!existsSync(tracked.pidFile)) return undefined;
  const pid = Number(readFileSync(tracked.pidFile, 'utf8').trim().split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return cmdline.includes(tracked.marker) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL; removes the pid file. True if a process was stopped. */
export async function stopTracked(tracked: Tracked, graceMs = 30_000): Promise<boolean> {
  const pid = runningPid(tracked);
  if (pid === undefined) {
    rmSync(tracked.pidFile, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && runningPid(tracked) !== undefined) await delay(100);
  if (runningPid(tracked) !== undefined) {
    process.kill(pid, 'SIGKILL');
    while (runningPid(tracked) !== undefined) await delay(50);
  }
  rmSync(tracked.pidFile, { force: true });
  return true;
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${String(result.stdout ?? '')}${String(result.stderr ?? '')}`.trim();
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${tail(output, 20)}`);
  }
  return String(result.stdout ?? '');
}

/** True when `command` is on the PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The last `lines` lines of a text. */
export function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** The last `lines` lines of a file, or a note that it does not exist. */
export function tailFile(file: string, lines: number): string {
  return existsSync(file) ? tail(readFileSync(file, 'utf8').trimEnd(), lines) : `(no log at ${file})`;
}

/** Polls `check` until it resolves or the deadline passes; rethrows the last failure. */
export async function waitUntil(
  check: () => Promise<void>,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = new Error('not checked');
  while (Date.now() < deadline) {
    try {
      await check();
      return;
    } catch (err) {
      lastError = err;
    }
    if (!isAlive()) throw new Error('the process exited', { cause: lastError });
    await delay(250);
  }
  throw new Error(`not healthy within ${timeoutMs / 1000} s`, { cause: lastError });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Throws when something already listens on one of the ports: a service we did not start
 * (another checkout's stack, a system Postgres) would otherwise answer our health checks.
 */
export async function assertPortsFree(service: string, ports: number[]): Promise<void> {
  for (const port of ports) {
    const inUse = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (inUse) {
      throw new Error(
        `port ${port} on 127.0.0.1 is already in use by a process this stack did not start; stop it (or the other checkout's stack), or point the ${service} variable at it`,
      );
    }
  }
}
