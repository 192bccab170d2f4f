/** A process's CPU time and resident memory, read from /proc (Linux), for cost-per-event figures. */
import { readFileSync } from 'node:fs';

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
