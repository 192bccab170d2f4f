/** The machine and command a benchmark ran on, printed at the top of its output. */
import { cpus, totalmem } from 'node:os';

export function describeRun(command: string): string {
  const cpu = cpus();
  return [
    `command: ${command}`,
    `machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${process.platform}`,
    `date:    ${new Date().toISOString()}`,
  ].join('\n');
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Milliseconds for a table cell, `-` when there is no value. */
export function fmtMs(ms: number): string {
  return Number.isFinite(ms) ? `${ms.toFixed(0).padStart(6)} ms` : '         -';
}
