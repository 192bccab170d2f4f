import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTracked, stopTracked } from '../../scripts/stack/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'tp-processes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tracked(name: string) {
  return { pidFile: join(dir, `${name}.pid`), marker: `tp-marker-${name}` };
}

describe('starting a tracked stack process', () => {
  it('keeps waiting for a process that is still starting, however slow its exec', async () => {
    const t = tracked('slow');
    let checks = 0;
    // The marker shows in /proc/<pid>/cmdline only after a second (the exec of a process that
    // is slow to start, or of node's fork under load); healthy on the eighth check, about 2 s.
    // Before the fix, the first failed check saw no marker and gave up with "the process exited".
    const slowExec = `m=tp-marker-; sleep 1; exec sh -c "sleep 30 # \${m}slow"`;
    await startTracked(t, 'sh', ['-c', slowExec], {
      logFile: join(dir, 'slow.log'),
      cwd: dir,
      timeoutMs: 10_000,
      check: async () => {
        if (++checks < 8) throw new Error('not yet');
      },
    });
    expect(checks).toBe(8);
    expect(await stopTracked(t, 1_000)).toBe(true);
  });

  it('gives up at once when the process exits', async () => {
    const t = tracked('dies');
    const started = Date.now();
    await expect(
      startTracked(t, 'sh', ['-c', `exit 3 # ${t.marker}`], {
        logFile: join(dir, 'dies.log'),
        cwd: dir,
        timeoutMs: 10_000,
        check: () => Promise.reject(new Error('never healthy')),
      }),
    ).rejects.toThrow(/the process exited/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
