// SIGKILL a node of the stack and wait until it is gone: both fault suites inject kills this way.
import type { StackService } from '../../scripts/stack/service.js';
import { eventually } from '../integration/helpers.js';

/**
 * Kills `node` with SIGKILL and waits (up to 30 s) until its pid is gone and its probe fails (a
 * killed server's sockets may outlive its pid briefly). Returns when the signal was sent.
 */
export async function killed(node: StackService, pollMs = 50): Promise<number> {
  const killedAt = Date.now();
  process.kill(node.pid()!, 'SIGKILL');
  await eventually(
    () =>
      node.probe.check().then(
        () => 'up',
        () => 'down',
      ),
    (state) => state === 'down' && node.pid() === undefined,
    30_000,
    pollMs,
  );
  return killedAt;
}
