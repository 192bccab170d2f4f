/**
 * Installs what the test suite needs beyond npm packages and the stack, when missing
 * (idempotent): chdb-core (a current ClickHouse engine, in-process in Python) for the
 * cross-version query test, schemathesis (an OpenAPI fuzzer) for the contract test, Debian's Chromium for the dashboard's browser test, and Debian's
 * prometheus package for promtool (the alert rules' tests).
 */
import { spawnSync } from 'node:child_process';
import { aptInstall } from './stack/apt.js';
import { hasCommand } from './stack/processes.js';

const REQUIREMENTS = new URL('../test/chdb/requirements.txt', import.meta.url).pathname;
const CONTRACT_REQUIREMENTS = new URL('../test/contract/requirements.txt', import.meta.url).pathname;

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

// test/integration/contract-fuzz.integration.test.ts runs schemathesis (pinned) on the service.
if (spawnSync('python3', ['-c', 'import schemathesis'], { stdio: 'ignore' }).status !== 0) {
  console.log('[test] installing schemathesis (test/contract/requirements.txt) with pip');
  const install = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', CONTRACT_REQUIREMENTS],
    { stdio: 'inherit' },
  );
  if (install.status !== 0) {
    console.error('[test] could not install schemathesis; the contract fuzz test needs it');
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

// test/unit/prometheus-rules.test.ts runs promtool on deploy/prometheus/. The package's service
// is not started by apt here (no init system) and nothing of ours starts it.
if (!hasCommand('promtool')) {
  try {
    aptInstall(['prometheus'], (line) => console.log(`[test] ${line}`));
  } catch (err) {
    console.error(
      `[test] could not install prometheus (promtool); the alert rule tests need it: ${String(err)}`,
    );
    process.exit(1);
  }
}
