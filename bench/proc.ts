/** A process's CPU time and resident memory, read from /proc (Linux), for cost-per-event figures. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcUsage {
  cpuSeconds: number;
  rssBytes: number;
}

/** CPU seconds (user + system) and RSS of `pid`; zeros when the process is gone. */
export function procUsage(pid: number | undefined): ProcUsage {
  if (pid === undefined) return { cpuSeconds: 0, rssBytes: 0 };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100/s)
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds: ticks / 100, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
  } catch {
    return { cpuSeconds: 0, rssBytes: 0 };
  }
}

/** CPU seconds of several processes together. */
export function cpuSecondsOf(pids: readonly (number | undefined)[]): number {
  return pids.reduce<number>((sum, pid) => sum + procUsage(pid).cpuSeconds, 0);
}

/**
 * The pid of the process listening on TCP `port` on this machine, from /proc/net/tcp{,6} (the
 * listening socket's inode) and /proc/<pid>/fd (who holds it); undefined when no process we may
 * read listens there. Whoever started it (the stack, a package, a person), the bench can read
 * its CPU and memory.
 */
export function pidListeningOn(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the inode.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9]) inodes.add(`socket:[${f[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}
