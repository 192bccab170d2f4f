/**
 * A network partition of one process on this machine, where every node listens on 127.0.0.1: the
 * process joins a cgroup (v2) of its own, iptables drops every packet it sends (`-m cgroup
 * --path`: its connections to ZooKeeper, the brokers and the other servers stall, new ones never
 * open) and every packet sent to a port it listens on (a peer's connect times out and fails over,
 * as across a cut link). Every other process keeps talking over the same loopback. `heal()`
 * removes the rules and moves the process back. Needs root, iptables (`apt-get install iptables`)
 * and a cgroup2 hierarchy.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptInstall } from '../../scripts/stack/apt.js';

/** Installs iptables with apt when it is missing (the suite's one tool beyond the stack). */
export function ensureIptables(log: (line: string) => void): void {
  if (spawnSync('iptables', ['--version']).error) aptInstall(['iptables'], log);
}

function iptables(args: string[]): void {
  const run = spawnSync('iptables', ['-w', ...args], { encoding: 'utf8' });
  if (run.error)
    throw new Error(`iptables is needed to cut a node off (apt-get install iptables): ${run.error.message}`);
  if (run.status !== 0) throw new Error(`iptables ${args.join(' ')}: ${run.stderr.trim()}`);
}

/** Where the cgroup2 hierarchy is mounted: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one. */
function cgroup2Root(): string {
  const mount = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((f) => f[2] === 'cgroup2');
  if (mount?.[1] === undefined)
    throw new Error('no cgroup2 hierarchy is mounted: cannot cut one process off');
  return mount[1];
}

/** The TCP ports `pid` listens on, from /proc/net/tcp{,6} and its file descriptors. */
export function listeningPorts(pid: number): number[] {
  const sockets = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        return [];
      }
    }),
  );
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the inode.
      if (f[3] === '0A' && sockets.has(`socket:[${f[9]}]`)) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports];
}

export interface Partition {
  /** The ports whose inbound packets are dropped. */
  ports: number[];
  heal(): void;
}

/** Cuts process `pid` off the network until `heal()`; `name` names its cgroup and rules. */
export function partition(pid: number, name: string): Partition {
  const root = cgroup2Root();
  const group = `ticketpulse-cut-${name}`;
  const ports = listeningPorts(pid);
  mkdirSync(join(root, group), { recursive: true });
  writeFileSync(join(root, group, 'cgroup.procs'), String(pid));
  const rules: string[][] = [
    ['OUTPUT', '-m', 'cgroup', '--path', group, '-j', 'DROP'],
    ...ports.map((port) => ['INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP']),
  ];
  const added: string[][] = [];
  try {
    for (const rule of rules) {
      iptables(['-A', ...rule]);
      added.push(rule);
    }
  } catch (err) {
    for (const rule of added) iptables(['-D', ...rule]);
    throw err;
  }
  return {
    ports,
    heal() {
      for (const rule of added) iptables(['-D', ...rule]);
      try {
        writeFileSync(join(root, 'cgroup.procs'), String(pid));
      } catch {
        // the process is gone
      }
      rmdirSync(join(root, group));
    },
  };
}
