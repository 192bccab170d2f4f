/**
 * Kafka 3.9 in KRaft mode, one combined broker+controller node, from Maven Central jars.
 * Clients use the broker port only; the controller port is internal to the node.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackPorts } from '../../src/local-stack.js';
import { createKafka } from '../../src/clients/kafka.js';
import { kafkaProbe } from '../../src/health/probes.js';
import { aptInstall } from './apt.js';
import { assertPortsFree, hasCommand, run, runningPid, startTracked, stopTracked } from './processes.js';
import { REPO_ROOT, type StackDirs, type StackService } from './service.js';

const POM = join(REPO_ROOT, 'stack/kafka/pom.xml');
const LOG4J = join(REPO_ROOT, 'stack/kafka/log4j.properties');

export function kafkaService(dirs: StackDirs): StackService {
  const { ports } = dirs;
  const home = join(dirs.root, 'kafka');
  const libs = join(home, 'libs');
  const dataDir = join(home, 'data');
  const properties = join(home, 'server.properties');
  const stamp = join(libs, '.pom.sha256');
  const address = `127.0.0.1:${ports.kafka}`;
  const logFile = join(dirs.logs, 'kafka.log');
  const tracked = { pidFile: join(dirs.run, 'kafka.pid'), marker: properties };
  const kafka = createKafka({ KAFKA_BROKERS: address, KAFKA_CLIENT_ID: 'ticketpulse-stack' }, { retries: 0 });

  function java(args: string[]): string {
    return run('java', ['-cp', `${libs}/*`, ...args]);
  }

  return {
    name: 'kafka',
    address,
    logFile,
    probe: kafkaProbe(kafka, address),

    async install(log) {
      const missing = [!hasCommand('java') && 'openjdk-17-jre-headless', !hasCommand('mvn') && 'maven'];
      const packages = missing.filter((p): p is string => typeof p === 'string');
      if (packages.length > 0) aptInstall(packages, log);
      const pomHash = createHash('sha256').update(readFileSync(POM)).digest('hex');
      if (existsSync(stamp) && readFileSync(stamp, 'utf8') === pomHash) return;
      log('kafka: fetching broker jars with Maven (first run only)');
      rmSync(libs, { recursive: true, force: true });
      run('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`]);
      writeFileSync(stamp, pomHash);
    },

    async start(log) {
      if (runningPid(tracked) !== undefined) return;
      await assertPortsFree('KAFKA_BROKERS', [ports.kafka, ports.kafkaController]);
      mkdirSync(dataDir, { recursive: true });
      copyFileSync(LOG4J, join(home, 'log4j.properties'));
      writeFileSync(properties, serverProperties(dataDir, ports));
      const clusterIdFile = join(home, 'cluster-id');
      if (!existsSync(clusterIdFile)) writeFileSync(clusterIdFile, randomBytes(16).toString('base64url'));
      const clusterId = readFileSync(clusterIdFile, 'utf8').trim();
      java([
        'kafka.tools.StorageTool',
        'format',
        '--ignore-formatted',
        `--cluster-id=${clusterId}`,
        '-c',
        properties,
      ]);
      log(`kafka: starting on ${address}`);
      await startTracked(
        tracked,
        'java',
        [
          '-Xms256m',
          '-Xmx768m',
          `-Dlog4j.configuration=file:${join(home, 'log4j.properties')}`,
          '-cp',
          `${libs}/*`,
          'kafka.Kafka',
          properties,
        ],
        { logFile, cwd: home, check: () => this.probe.check(), timeoutMs: 90_000 },
      );
    },

    stop: () => stopTracked(tracked),
    pid: () => runningPid(tracked),
    resetData() {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(join(home, 'cluster-id'), { force: true });
    },
  };
}

function serverProperties(dataDir: string, ports: StackPorts): string {
  return `# Written by \`npm run stack -- up\`; edit scripts/stack/kafka.ts instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${ports.kafkaController}
listeners=PLAINTEXT://127.0.0.1:${ports.kafka},CONTROLLER://127.0.0.1:${ports.kafkaController}
advertised.listeners=PLAINTEXT://127.0.0.1:${ports.kafka}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dataDir}
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# Topics are created by the application (or tests) with explicit settings.
auto.create.topics.enable=false
log.retention.hours=168
`;
}
