/** What the stack command needs from each service it manages. */
import { isAbsolute, join } from 'node:path';
import { stackPorts, type StackPorts } from '../../src/local-stack.js';
import { loadStackSettings, type StackSettings } from './settings.js';
import type { Probe } from '../../src/health/probes.js';

export type Log = (line: string) => void;

/** Where the stack keeps its installs, data, logs and pid files, and the ports it listens on. */
export interface StackDirs {
  root: string;
  logs: string;
  run: string;
  ports: StackPorts;
}

/** What a node of the stack is; the cluster topology has several nodes of one kind. */
export type ServiceKind = 'kafka' | 'clickhouse' | 'postgres' | 'influxdb' | 'zookeeper';

/** One service (node) the stack installs and runs natively on 127.0.0.1. */
export interface StackService {
  /** The node's name: its kind on the single-node stack, e.g. `kafka-2` or `clickhouse-s1r2` on the cluster. */
  name: string;
  kind: ServiceKind;
  /** What the node does, for `status`: e.g. `shard 1 replica 2`. */
  role: string;
  /** host:port clients use. */
  address: string;
  logFile: string;
  /** Installs what is missing; a no-op when everything is already there. */
  install(log: Log): Promise<void>;
  /** Starts the service unless it runs already, and waits until it answers. */
  start(log: Log): Promise<void>;
  /** Stops the process this stack started; true if one was running. */
  stop(): Promise<boolean>;
  /** The pid of our running process, if any. */
  pid(): number | undefined;
  /** Removes the service's data (not its installed binaries). */
  resetData(): void;
  probe: Probe;
}

/** The repository root, so the stack works from any working directory. */
export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/**
 * The stack's folders for TICKETPULSE_STACK_DIR (relative to the repository) and its ports for
 * TICKETPULSE_STACK_PORT_OFFSET.
 */
export function stackDirs(settings: StackSettings = loadStackSettings()): StackDirs {
  const dir = settings.TICKETPULSE_STACK_DIR;
  const root = isAbsolute(dir) ? dir : join(REPO_ROOT, dir);
  return {
    root,
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    ports: stackPorts(settings.TICKETPULSE_STACK_PORT_OFFSET),
  };
}
