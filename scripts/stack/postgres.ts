/**
 * PostgreSQL from Debian, as the project's own cluster (own data directory, own port), so it
 * never collides with a system Postgres. Postgres refuses to run as root, so as root the
 * stack runs it as the `postgres` system user.
 */
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { postgresProbe } from '../../src/health/probes.js';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { aptInstall } from './apt.js';
import { assertPortsFree, run, runningPid } from './processes.js';
import type { StackDirs, StackService } from './service.js';

const DATABASE = 'ticketpulse';
const asRoot = process.getuid?.() === 0;

export function postgresService(dirs: StackDirs): StackService {
  const { ports } = dirs;
  const home = postgresHome(dirs.root);
  const dataDir = join(home, 'data');
  const logFile = join(home, 'postgres.log');
  const address = `127.0.0.1:${ports.postgres}`;
  const tracked = { pidFile: join(dataDir, 'postmaster.pid'), marker: dataDir };
  const pool = createPostgresPool({ DATABASE_URL: `postgres://postgres@${address}/postgres` }, 1);

  /** Runs a Postgres binary as the user that owns the cluster. */
  function pgRun(binary: string, args: string[]): string {
    const path = join(binDir(), binary);
    return asRoot ? run('runuser', ['-u', 'postgres', '--', path, ...args], { cwd: home }) : run(path, args);
  }

  return {
    name: 'postgres',
    kind: 'postgres',
    role: 'entities, keys, rules',
    address,
    logFile,
    probe: postgresProbe(pool, `postgres://${address}/${DATABASE}`),

    async install(log) {
      if (findBinDir() === undefined) aptInstall(['postgresql'], log);
    },

    async start(log) {
      if (runningPid(tracked) !== undefined) return;
      await assertPortsFree('DATABASE_URL', [ports.postgres]);
      mkdirSync(home, { recursive: true });
      if (asRoot) chownTree(home);
      if (!existsSync(join(dataDir, 'PG_VERSION'))) {
        log(`postgres: creating cluster in ${dataDir}`);
        pgRun('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
      }
      log(`postgres: starting on ${address}`);
      const options = `-c port=${ports.postgres} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
      pgRun('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
      const client = new pg.Client({ connectionString: `postgres://postgres@${address}/postgres` });
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
      } finally {
        await client.end();
      }
    },

    async stop() {
      if (runningPid(tracked) === undefined) return false;
      await pool.end().catch(() => undefined);
      pgRun('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
      return true;
    },
    pid: () => runningPid(tracked),
    resetData() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The cluster's folder: inside the stack folder when the postgres user can reach it, else a
 * per-checkout folder under the system temp dir (a checkout under a root-only home, say).
 */
function postgresHome(stackRoot: string): string {
  const inside = join(stackRoot, 'postgres');
  if (!asRoot) return inside;
  mkdirSync(stackRoot, { recursive: true });
  const reachable = spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', stackRoot]).status === 0;
  if (reachable) return inside;
  const key = createHash('sha256').update(stackRoot).digest('hex').slice(0, 12);
  return join(tmpdir(), `ticketpulse-postgres-${key}`);
}

function findBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(base, versions[0], 'bin');
}

function binDir(): string {
  const dir = findBinDir();
  if (dir === undefined) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return dir;
}

function chownTree(dir: string): void {
  const info = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const uid = Number(info.stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (statSync(dir).uid !== uid) run('chown', ['-R', `${uid}:${gid}`, dir]);
  else chownSync(dir, uid, gid);
}
