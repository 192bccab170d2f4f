/**
 * ClickHouse from Debian's clickhouse-server package (18.16), run with the project's own
 * config: data under .stack/, loopback only, plus the config.d and users.d files that
 * docker-compose mounts too (Kafka consumer settings, lower stream_flush_interval_ms).
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { clickHouseProbe } from '../../src/health/probes.js';
import { aptInstall } from './apt.js';
import { assertPortsFree, hasCommand, runningPid, startTracked, stopTracked } from './processes.js';
import { REPO_ROOT, type StackDirs, type StackService } from './service.js';

/** One ClickHouse server of the stack: its name, folder and ports, and what it adds to the config. */
export interface ClickHouseNode {
  name: string;
  role: string;
  home: string;
  httpPort: number;
  nativePort: number;
  /** XML inside <yandex> for a cluster node: interserver port, macros, remote_servers, ZooKeeper. */
  clusterConfig?: string;
  extraPorts?: number[];
}

/**
 * The single-node stack's server. `profileOverrides` replaces settings of the default profile
 * for this start only (written to users.d/zz-overrides.xml); bench/freshness uses it to measure
 * ClickHouse's default flush.
 */
export function clickHouseService(
  dirs: StackDirs,
  options: { profileOverrides?: Record<string, string> } = {},
): StackService {
  const { ports } = dirs;
  return clickHouseNodeService(
    dirs,
    {
      name: 'clickhouse',
      role: 'server',
      home: join(dirs.root, 'clickhouse'),
      httpPort: ports.clickhouseHttp,
      nativePort: ports.clickhouseNative,
    },
    options,
  );
}

/** A server of the stack's ClickHouse: the single one, or a replica of the cluster. */
export function clickHouseNodeService(
  dirs: StackDirs,
  node: ClickHouseNode,
  options: { profileOverrides?: Record<string, string> } = {},
): StackService {
  const { home } = node;
  const dataDir = join(home, 'data');
  const configFile = join(home, 'config.xml');
  const logFile = join(dirs.logs, `${node.name}.log`);
  const address = `127.0.0.1:${node.httpPort}`;
  const tracked = { pidFile: join(dirs.run, `${node.name}.pid`), marker: configFile };
  const client = createClickHouse(
    { CLICKHOUSE_URL: `http://${address}`, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '' },
    { request_timeout: 2000 },
  );

  return {
    name: node.name,
    kind: 'clickhouse',
    role: node.role,
    address,
    logFile,
    probe: clickHouseProbe(client, `http://${address}`),

    async install(log) {
      if (!hasCommand('clickhouse-server')) aptInstall(['clickhouse-server', 'clickhouse-client'], log);
    },

    async start(log) {
      if (runningPid(tracked) !== undefined) return;
      await assertPortsFree('CLICKHOUSE_URL', [node.httpPort, node.nativePort, ...(node.extraPorts ?? [])]);
      for (const dir of ['data', 'tmp', 'user_files', 'format_schemas']) {
        mkdirSync(join(home, dir), { recursive: true });
      }
      cpSync(join(REPO_ROOT, 'stack/clickhouse/users.xml'), join(home, 'users.xml'));
      for (const dir of ['users.d', 'config.d']) {
        rmSync(join(home, dir), { recursive: true, force: true });
        cpSync(join(REPO_ROOT, 'stack/clickhouse', dir), join(home, dir), { recursive: true });
      }
      const overrides = Object.entries(options.profileOverrides ?? {});
      if (overrides.length > 0) {
        const settings = overrides.map(([name, value]) => `<${name}>${value}</${name}>`).join('');
        writeFileSync(
          join(home, 'users.d', 'zz-overrides.xml'),
          `<?xml version="1.0"?>\n<yandex><profiles><default>${settings}</default></profiles></yandex>\n`,
        );
      }
      writeFileSync(configFile, serverConfig(node, dirs.logs));
      log(`${node.name}: starting on ${address} (native ${node.nativePort})`);
      await startTracked(tracked, 'clickhouse-server', [`--config-file=${configFile}`], {
        logFile: join(dirs.logs, `${node.name}.stdout.log`),
        cwd: home,
        check: () => this.probe.check(),
        timeoutMs: 60_000,
      });
    },

    stop: () => stopTracked(tracked, 60_000),
    pid: () => runningPid(tracked),
    resetData() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function serverConfig(node: ClickHouseNode, logs: string): string {
  const { home } = node;
  return `<?xml version="1.0"?>
<!-- Written by the stack command (npm run stack, "up"); edit scripts/stack/clickhouse.ts instead. -->
<yandex>
    <logger>
        <level>information</level>
        <log>${logs}/${node.name}.log</log>
        <errorlog>${logs}/${node.name}.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <http_port>${node.httpPort}</http_port>
    <tcp_port>${node.nativePort}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>${home}/data/</path>
    <tmp_path>${home}/tmp/</tmp_path>
    <user_files_path>${home}/user_files/</user_files_path>
    <format_schema_path>${home}/format_schemas/</format_schema_path>
    <users_config>${home}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <max_concurrent_queries>100</max_concurrent_queries>
    <mark_cache_size>536870912</mark_cache_size>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <!-- Shared with docker-compose: config.d/ticketpulse.xml (timezone, Kafka consumer settings)
         and users.d/ticketpulse.xml (profile settings), merged by the server. -->${node.clusterConfig ?? ''}
</yandex>
`;
}
