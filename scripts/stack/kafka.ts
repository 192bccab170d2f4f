/**
 * Kafka 3.9 in KRaft mode from Maven Central jars: one combined broker+controller node, or
 * (the cluster topology) three of them voting as one quorum. Clients use the broker ports only;
 * the controller ports are internal to the nodes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKafka } from '../../src/clients/kafka.js';
import { kafkaProbe } from '../../src/health/probes.js';
import { aptInstall } from './apt.js';
import { assertPortsFree, hasCommand, run, runningPid, startTracked, stopTracked } from './processes.js';
import { REPO_ROOT, type StackDirs, type StackService } from './service.js';

const POM = join(REPO_ROOT, 'stack/kafka/pom.xml');
const LOG4J = join(REPO_ROOT, 'stack/kafka/log4j.properties');

/** One broker+controller node: its id, ports, the quorum it votes in and its topic defaults. */
export interface KafkaNode {
  name: string;
  nodeId: number;
  port: number;
  controllerPort: number;
  /** controller.quorum.voters: `id@host:port` of every node. */
  voters: string;
  /** Replication factor of new topics and internal topics; min.insync.replicas is one less (at least 1). */
  replication: number;
  /** The node's folder (data, properties); the jars are shared under <stack>/kafka/libs. */
  home: string;
  /** The file holding the cluster id every node of the quorum is formatted with. */
  clusterIdFile: string;
  heap: string;
}

/** The single-node stack's broker. */
export function kafkaService(dirs: StackDirs): StackService {
  const { ports } = dirs;
  const home = join(dirs.root, 'kafka');
  return kafkaNodeService(dirs, {
    name: 'kafka',
    nodeId: 1,
    port: ports.kafka,
    controllerPort: ports.kafkaController,
    voters: `1@127.0.0.1:${ports.kafkaController}`,
    replication: 1,
    home,
    clusterIdFile: join(home, 'cluster-id'),
    heap: '768m',
  });
}

/** A node of the stack's Kafka: the single broker, or one of the cluster's. */
export function kafkaNodeService(dirs: StackDirs, node: KafkaNode): StackService {
  const libs = join(dirs.root, 'kafka', 'libs');
  const dataDir = join(node.home, 'data');
  const properties = join(node.home, 'server.properties');
  const stamp = join(libs, '.pom.sha256');
  const address = `127.0.0.1:${node.port}`;
  const logFile = join(dirs.logs, `${node.name}.log`);
  const tracked = { pidFile: join(dirs.run, `${node.name}.pid`), marker: properties };
  const kafka = createKafka({ KAFKA_BROKERS: address, KAFKA_CLIENT_ID: 'ticketpulse-stack' }, { retries: 0 });

  function java(args: string[]): string {
    return run('java', ['-cp', `${libs}/*`, ...args]);
  }

  return {
    name: node.name,
    kind: 'kafka',
    role: node.replication > 1 ? `broker+controller ${node.nodeId}` : 'broker+controller',
    address,
    logFile,
    probe: kafkaProbe(kafka, address),

    async install(log) {
      installKafkaJars(libs, stamp, log);
    },

    async start(log) {
      if (runningPid(tracked) !== undefined) return;
      await assertPortsFree('KAFKA_BROKERS', [node.port, node.controllerPort]);
      mkdirSync(dataDir, { recursive: true });
      copyFileSync(LOG4J, join(node.home, 'log4j.properties'));
      writeFileSync(properties, serverProperties(dataDir, node));
      if (!existsSync(node.clusterIdFile))
        writeFileSync(node.clusterIdFile, randomBytes(16).toString('base64url'));
      const clusterId = readFileSync(node.clusterIdFile, 'utf8').trim();
      java([
        'kafka.tools.StorageTool',
        'format',
        '--ignore-formatted',
        `--cluster-id=${clusterId}`,
        '-c',
        properties,
      ]);
      log(`${node.name}: starting on ${address}`);
      await startTracked(
        tracked,
        'java',
        [
          '-Xms256m',
          `-Xmx${node.heap}`,
          `-Dlog4j.configuration=file:${join(node.home, 'log4j.properties')}`,
          '-cp',
          `${libs}/*`,
          'kafka.Kafka',
          properties,
        ],
        // A broker of a quorum answers only once a majority of controllers runs: the cluster
        // starts its nodes together (scripts/stack.ts).
        { logFile, cwd: node.home, check: () => this.probe.check(), timeoutMs: 90_000 },
      );
    },

    stop: () => stopTracked(tracked),
    pid: () => runningPid(tracked),
    resetData() {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(node.clusterIdFile, { force: true });
    },
  };
}

/** Java and Maven from apt when missing, then the broker's jars (once per pom). */
function installKafkaJars(libs: string, stamp: string, log: (line: string) => void): void {
  const missing = [!hasCommand('java') && 'openjdk-17-jre-headless', !hasCommand('mvn') && 'maven'];
  const packages = missing.filter((p): p is string => typeof p === 'string');
  if (packages.length > 0) aptInstall(packages, log);
  const pomHash = createHash('sha256').update(readFileSync(POM)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === pomHash) return;
  log('kafka: fetching broker jars with Maven (first run only)');
  rmSync(libs, { recursive: true, force: true });
  run('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`]);
  writeFileSync(stamp, pomHash);
}

/** The jars of the stack's Kafka (they hold ZooKeeper 3.8's server too: scripts/stack/zookeeper.ts). */
export function kafkaLibs(dirs: StackDirs): { libs: string; install(log: (line: string) => void): void } {
  const libs = join(dirs.root, 'kafka', 'libs');
  return { libs, install: (log) => installKafkaJars(libs, join(libs, '.pom.sha256'), log) };
}

function serverProperties(dataDir: string, node: KafkaNode): string {
  const isr = Math.max(1, node.replication - 1);
  return `# Written by \`npm run stack -- up\`; edit scripts/stack/kafka.ts instead.
process.roles=broker,controller
node.id=${node.nodeId}
controller.quorum.voters=${node.voters}
listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dataDir}
num.partitions=3
default.replication.factor=${node.replication}
min.insync.replicas=${isr}
offsets.topic.replication.factor=${node.replication}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=${node.replication}
transaction.state.log.min.isr=${isr}
group.initial.rebalance.delay.ms=0
# Topics are created by the application (or tests) with explicit settings.
auto.create.topics.enable=false
log.retention.hours=168
`;
}
