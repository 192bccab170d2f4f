/**
 * Installs what the test suite needs beyond npm packages and the stack, when missing
 * (idempotent): chdb-core (a current ClickHouse engine, in-process in Python) for the
 * cross-version query test, schemathesis (an OpenAPI fuzzer) for the contract test, Debian's
 * Chromium for the dashboard's browser test, and Debian's prometheus package: promtool for the
 * alert rules' unit tests, the server for the tests that evaluate the rules against the running
 * service; and the validators of docker-compose.yml and deploy/kubernetes/ (scripts/deploy-tools.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ensureDeployTools } from './deploy-tools.js';
import { aptInstall } from './stack/apt.js';
import { hasCommand } from './stack/processes.js';

/**
 * Installs a requirements file with pip unless every `name==version` in it is installed at that
 * version, so a warm machine starts at once and a changed pin is installed.
 */
function pipEnsure(file: string, forWhat: string): void {
  const path = new URL(`../${file}`, import.meta.url).pathname;
  const pins = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => /^([A-Za-z0-9_.-]+)==(\S+)/.exec(line.trim()))
    .filter((m) => m !== null)
    .map((m) => [m[1]!, m[2]!]);
  const check = `import importlib.metadata as m, sys; sys.exit(0 if all(m.version(n) == v for n, v in ${JSON.stringify(pins)}) else 1)`;
  if (spawnSync('python3', ['-c', check], { stdio: 'ignore' }).status === 0) return;
  console.log(`[test] installing ${file} with pip (${forWhat})`);
  const install = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', path],
    { stdio: 'inherit' },
  );
  if (install.status !== 0) {
    console.error(`[test] could not install ${file}; ${forWhat} needs it`);
    process.exit(1);
  }
}

pipEnsure('test/chdb/requirements.txt', 'the cross-version query test');
// test/integration/contract-fuzz.integration.test.ts runs schemathesis on the service.
pipEnsure('test/contract/requirements.txt', 'the contract fuzz test');

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

// test/unit/deploy.test.ts runs docker compose and kubeconform on the deployment descriptions.
try {
  ensureDeployTools((line) => console.log(`[test] ${line}`));
} catch (err) {
  console.error(
    `[test] could not install the deployment validators; test/unit/deploy.test.ts needs them: ${String(err)}`,
  );
  process.exit(1);
}
