// deploy/prometheus/alerts.yml: valid rules (`promtool check rules`), and each alert firing on
// a synthetic series (`promtool test rules alerts.test.yml`). promtool comes from Debian's
// prometheus package, which `npm test` installs when missing: without it this test fails.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../../deploy/prometheus/', import.meta.url).pathname;

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  if (result.error)
    throw new Error(`promtool is needed (apt-get install prometheus): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yml');
    expect(output).toContain('SUCCESS: 11 rules found');
    expect(status).toBe(0);
  });

  it('fire on their synthetic series (promtool test rules)', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('each alert has a firing case in the test file', async () => {
    const { readFileSync } = await import('node:fs');
    const rules = [...readFileSync(`${DIR}alerts.yml`, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const tests = readFileSync(`${DIR}alerts.test.yml`, 'utf8');
    for (const rule of rules) {
      const firing = new RegExp(`alertname: ${rule}\\n\\s+exp_alerts:\\n\\s+- exp_labels`);
      expect(tests, rule).toMatch(firing);
    }
  });
});
