/**
 * Installs what the test suite needs beyond npm packages and the stack, when missing
 * (idempotent): chdb-core (a current ClickHouse engine, in-process in Python) for the
 * cross-version query test, Debian's Chromium for the dashboard's browser test, and Debian's
 * prometheus package: promtool for the alert rules' unit tests, the server for the tests that
 * evaluate the rules against the running service.
 */
import { spawnSync } from 'node:child_process';
import { aptInstall } from './stack/apt.js';
import { hasCommand } from './stack/processes.js';

const REQUIREMENTS = new URL('../test/chdb/requirements.txt', import.meta.url).pathname;

const probe = spawnSync('python3', ['-c', 'import chdb'], { stdio: 'ignore' });
if (probe.status !== 0) {
  console.log('[test] installing chdb-core (test/chdb/requirements.txt) with pip');
  const install = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS],
    { stdio: 'inherit' },
  );
  if (install.status !== 0) {
    console.error('[test] could not install chdb-core; the cross-version query test needs it');
    process.exit(1);
  }
}

// test/integration/dashboard.integration.test.ts launches /usr/bin/chromium with playwright-core.
if (!hasCommand('chromium')) {
  try {
    aptInstall(['chromium'], (line) => console.log(`[test] ${line}`));
  } catch (err) {
    console.error(`[test] could not install chromium; the dashboard browser test needs it: ${String(err)}`);
    process.exit(1);
  }
}

// test/unit/prometheus-rules.test.ts runs promtool on deploy/prometheus/;
// test/integration/prometheus.ts starts `prometheus` itself (a server of its own per test, on a
// free port). The package's service is not started by apt here (no init system).
if (!hasCommand('promtool') || !hasCommand('prometheus')) {
  try {
    aptInstall(['prometheus'], (line) => console.log(`[test] ${line}`));
  } catch (err) {
    console.error(
      `[test] could not install prometheus (promtool, prometheus); the alert rule tests need it: ${String(err)}`,
    );
    process.exit(1);
  }
}
