// A real Prometheus (Debian's `prometheus`, which `npm test` installs with promtool) scraping
// one service process and evaluating deploy/prometheus/alerts.yml, for the tests that check the
// alerts against the running service: the healthy period (prometheus-alerts.integration.test.ts)
// and the fault suite. It runs in a temporary folder on a free port and is stopped by `stop()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/service-process.js';

const ALERTS = new URL('../../deploy/prometheus/alerts.yml', import.meta.url).pathname;

export interface PrometheusOptions {
  /** `host:port` of the service's /metrics, scraped as job `ticketpulse` (alerts.yml expects it). */
  target: string;
  /** Scrape and rule evaluation interval in seconds (the server used 5). */
  intervalSeconds: number;
}

/** An alerting rule as `/api/v1/rules` reports it: `query` is the expression Prometheus loaded. */
export interface AlertRule {
  name: string;
  query: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
  state: 'inactive' | 'pending' | 'firing';
  alerts: ActiveAlert[];
}

export interface ActiveAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface Prometheus {
  url: string;
  logFile: string;
  /** The result of an instant query (`/api/v1/query`): an empty array when the expression is false. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Every alerting rule of alerts.yml, with its health, last evaluation and state. */
  rules(): Promise<AlertRule[]>;
  /** The alerts pending or firing (`/api/v1/alerts`). */
  alerts(): Promise<ActiveAlert[]>;
  /** Waits until the target has been scraped successfully (`up` is 1). */
  scraping(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function api<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? response.status}`);
  return body.data;
}

export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'ticketpulse-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  const interval = `${options.intervalSeconds}s`;
  writeFileSync(
    configFile,
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'rule_files:',
      `  - ${JSON.stringify(ALERTS)}`,
      'scrape_configs:',
      '  - job_name: ticketpulse',
      '    static_configs:',
      `      - targets: [${JSON.stringify(options.target)}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', fd, fd] },
    );
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  async function ready(): Promise<boolean> {
    try {
      return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok;
    } catch {
      return false;
    }
  }
  const deadline = Date.now() + 30_000;
  while (!(await ready())) {
    const failed = await Promise.race([spawnError, new Promise((r) => setTimeout(r, 200, undefined))]);
    if (failed instanceof Error)
      throw new Error(`prometheus is needed (apt-get install prometheus): ${failed.message}`);
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`prometheus was not ready within 30 s; see ${logFile}`);
  }

  const prometheus: Prometheus = {
    url,
    logFile,
    async query(expr) {
      const data = await api<{
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[];
      }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result;
    },
    async rules() {
      const data = await api<{ groups: { rules: (AlertRule & { type: string })[] }[] }>(
        `${url}/api/v1/rules?type=alert`,
      );
      return data.groups.flatMap((g) => g.rules.filter((r) => r.type === 'alerting'));
    },
    async alerts() {
      return (await api<{ alerts: ActiveAlert[] }>(`${url}/api/v1/alerts`)).alerts;
    },
    async scraping(timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const up = await prometheus.query('up{job="ticketpulse"} == 1').catch(() => []);
        if (up.length > 0) return;
        if (Date.now() > until)
          throw new Error(`prometheus did not scrape ${options.target} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(join(dir, 'data'), { recursive: true, force: true }); // the log stays, for failures
    },
  };
  return prometheus;
}

/** When each watched expression was true (non-empty), from polling it. */
export interface ExpressionWatch {
  /** Names whose expression was true at some poll between `from` and `to` (epoch ms). */
  trueBetween(from: number, to: number): string[];
  stop(): Promise<void>;
}

/**
 * Polls each expression (by name) every `intervalMs` through `/api/v1/query` and records when
 * it was true: the rules' `for:` durations do not apply, so a test sees the condition itself.
 */
export function watchExpressions(
  prometheus: Prometheus,
  expressions: Map<string, string>,
  intervalMs = 1000,
): ExpressionWatch {
  const seen = new Map<string, number[]>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      for (const [name, expr] of expressions) {
        const result = await prometheus.query(expr).catch(() => []);
        if (result.length > 0) seen.set(name, [...(seen.get(name) ?? []), at]);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - at))));
    }
  })();
  return {
    trueBetween: (from, to) =>
      [...expressions.keys()].filter((name) => (seen.get(name) ?? []).some((t) => t >= from && t <= to)),
    async stop() {
      running = false;
      await loop;
    },
  };
}
