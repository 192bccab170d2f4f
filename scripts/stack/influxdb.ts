/**
 * InfluxDB OSS 1.13.2, built from the Go module proxy (Debian's `influxdb` is 1.6.7, which
 * has no `/api/v2/write` for @influxdata/influxdb-client). The first `stack up` on a machine
 * builds `influxd` (about 15 minutes with cold caches on 2 cores, most of it libflux's Rust
 * build; ~5 minutes with Go's caches warm) into the per-machine cache
 * `~/.cache/ticketpulse/influxd-<version>/` (XDG_CACHE_HOME respected), so later checkouts and
 * CI runs on the same machine start it at once. Only the stripped binary is ours to keep; Go's
 * and cargo's caches are theirs. It runs with data, meta and WAL under the stack folder.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createInflux } from '../../src/clients/influx.js';
import { assertPortsFree, hasCommand, run, runningPid, startTracked, stopTracked } from './processes.js';
import type { Log, StackDirs, StackService } from './service.js';

export const INFLUXDB_VERSION = '1.13.2';

/** Where the built binary is kept for every checkout on this machine. */
export function influxdBinary(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'ticketpulse', `influxd-${INFLUXDB_VERSION}`, 'influxd');
}

export function influxService(dirs: StackDirs): StackService {
  const home = join(dirs.root, 'influxdb');
  const configFile = join(home, 'influxdb.conf');
  const logFile = join(dirs.logs, 'influxdb.log');
  const address = `127.0.0.1:${dirs.ports.influxdb}`;
  const tracked = { pidFile: join(dirs.run, 'influxdb.pid'), marker: configFile };
  const influx = createInflux({
    INFLUX_URL: `http://${address}`,
    INFLUX_TOKEN: '',
    INFLUX_DATABASE: 'ticketpulse',
    INFLUX_RETENTION_POLICY: 'autogen',
  });

  return {
    name: 'influxdb',
    kind: 'influxdb',
    role: 'time series (mirror)',
    address,
    logFile,
    probe: influx.probe,

    async install(log) {
      if (!existsSync(influxdBinary())) await buildInfluxd(join(dirs.logs, 'influxdb-build.log'), log);
    },

    async start(log) {
      if (runningPid(tracked) !== undefined) return;
      await assertPortsFree('INFLUX_URL', [dirs.ports.influxdb, dirs.ports.influxdbRpc]);
      mkdirSync(home, { recursive: true });
      writeFileSync(configFile, influxConfig(home, address, `127.0.0.1:${dirs.ports.influxdbRpc}`));
      log(`influxdb: starting ${INFLUXDB_VERSION} on ${address}`);
      await startTracked(tracked, influxdBinary(), ['-config', configFile], {
        logFile,
        cwd: home,
        check: () => influx.probe.check(),
        timeoutMs: 60_000,
      });
      await influx.createDatabase();
    },

    stop: () => stopTracked(tracked, 30_000),
    pid: () => runningPid(tracked),
    resetData() {
      for (const dir of ['data', 'meta', 'wal']) rmSync(join(home, dir), { recursive: true, force: true });
    },
  };
}

/**
 * The config file: loopback only, Flux on, no phoning home, everything under `home`; `rpc` is
 * the backup/restore port (influxd's default, 8088, is often taken).
 */
export function influxConfig(home: string, address: string, rpc: string): string {
  return `# Written by the stack command (npm run stack, "up"); edit scripts/stack/influxdb.ts instead.
reporting-disabled = true
bind-address = "${rpc}"
[meta]
  dir = "${join(home, 'meta')}"
[data]
  dir = "${join(home, 'data')}"
  wal-dir = "${join(home, 'wal')}"
  query-log-enabled = false
[http]
  bind-address = "${address}"
  flux-enabled = true
  log-enabled = false
[continuous_queries]
  enabled = false
`;
}

/** go install of influxd with the recipe that works here; every 30 s, what it is on. */
async function buildInfluxd(buildLog: string, log: Log): Promise<void> {
  for (const tool of ['go', 'cargo']) {
    if (!hasCommand(tool))
      throw new Error(`building InfluxDB needs ${tool} (Go and Rust toolchains) on the PATH`);
  }
  const target = influxdBinary();
  mkdirSync(join(target, '..'), { recursive: true });
  log(`influxdb: building influxd ${INFLUXDB_VERSION} from the Go module proxy into ${target}`);
  log(
    `influxdb: once per machine; about 15 min with cold caches (most of it libflux's Rust build), output in ${buildLog}`,
  );
  // flux pins a Rust toolchain that is not installed; the stable one builds it.
  const env = { ...process.env, RUSTUP_TOOLCHAIN: 'stable' };
  run('go', ['install', 'github.com/influxdata/pkg-config@v0.3.0'], { env });
  const gopath = run('go', ['env', 'GOPATH'], { env }).trim();
  const started = Date.now();
  const child = spawn(
    'go',
    [
      'install',
      '-v', // names each package as it is built: the progress lines show the latest
      '-ldflags',
      `-s -w -X main.version=${INFLUXDB_VERSION}`,
      `github.com/influxdata/influxdb/cmd/influxd@v${INFLUXDB_VERSION}`,
    ],
    {
      env: { ...env, PKG_CONFIG: join(gopath, 'bin', 'pkg-config'), GOBIN: join(target, '..') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  mkdirSync(join(buildLog, '..'), { recursive: true });
  const output: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d));
  child.stderr.on('data', (d: Buffer) => output.push(d));
  const progress = setInterval(() => {
    const lines = Buffer.concat(output).toString().trim().split('\n');
    const last = lines.at(-1) || 'starting';
    log(
      `influxdb: still building (${Math.round((Date.now() - started) / 1000)} s, ${lines.length} output lines; last: ${last})`,
    );
  }, 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(progress);
  writeFileSync(buildLog, Buffer.concat(output));
  if (code !== 0 || !existsSync(target))
    throw new Error(`building influxd failed (exit ${code}); see ${buildLog}`);
  log(`influxdb: built in ${Math.round((Date.now() - started) / 1000)} s`);
}
