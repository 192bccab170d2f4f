/**
 * ZooKeeper for the cluster topology: what ClickHouse 18.16's ReplicatedMergeTree and
 * `ON CLUSTER` DDL coordinate through. One standalone node, run from the ZooKeeper 3.8 jars that
 * the Kafka jars already bring (zookeeper-3.8.4.jar holds the server), so nothing more is
 * installed. Its health is the four-letter `ruok`, answered `imok`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { kafkaLibs } from './kafka.js';
import { assertPortsFree, runningPid, startTracked, stopTracked } from './processes.js';
import type { StackDirs, StackService } from './service.js';

export function zookeeperService(dirs: StackDirs, port: number): StackService {
  const home = join(dirs.root, 'cluster', 'zookeeper');
  const dataDir = join(home, 'data');
  const configFile = join(home, 'zoo.cfg');
  const address = `127.0.0.1:${port}`;
  const logFile = join(dirs.logs, 'zookeeper.log');
  const tracked = { pidFile: join(dirs.run, 'zookeeper.pid'), marker: configFile };
  const jars = kafkaLibs(dirs);

  return {
    name: 'zookeeper',
    kind: 'zookeeper',
    role: 'coordination (ClickHouse replicas, ON CLUSTER DDL)',
    address,
    logFile,
    probe: {
      name: 'zookeeper',
      address,
      need: 'required',
      check: () => ruok('127.0.0.1', port),
    },

    async install(log) {
      jars.install(log);
    },

    async start(log) {
      if (runningPid(tracked) !== undefined) return;
      await assertPortsFree('zookeeper', [port]);
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(
        configFile,
        [
          '# Written by `npm run stack -- up --topology cluster`; edit scripts/stack/zookeeper.ts instead.',
          'tickTime=2000',
          `dataDir=${dataDir}`,
          `clientPort=${port}`,
          'clientPortAddress=127.0.0.1',
          'maxClientCnxns=0',
          'admin.enableServer=false',
          '4lw.commands.whitelist=ruok,srvr,mntr',
          // Snapshots and logs are purged, so a long-running stack does not fill the disk.
          'autopurge.snapRetainCount=3',
          'autopurge.purgeInterval=1',
          '',
        ].join('\n'),
      );
      log(`zookeeper: starting on ${address}`);
      await startTracked(
        tracked,
        'java',
        [
          '-Xms64m',
          '-Xmx256m',
          '-cp',
          `${jars.libs}/*`,
          'org.apache.zookeeper.server.quorum.QuorumPeerMain',
          configFile,
        ],
        { logFile, cwd: home, check: () => this.probe.check(), timeoutMs: 60_000 },
      );
    },

    stop: () => stopTracked(tracked),
    pid: () => runningPid(tracked),
    resetData() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Sends `ruok`; resolves when the server answers `imok`. */
function ruok(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let answer = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('no answer to ruok within 2000 ms')));
    socket.on('connect', () => socket.write('ruok'));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () =>
      answer === 'imok' ? resolve() : reject(new Error(`ruok answered '${answer}'`)),
    );
  });
}
