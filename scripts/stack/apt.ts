/** Installs Debian packages the stack needs, refreshing the package lists only when needed. */
import { run } from './processes.js';

let updated = false;

/** `apt-get install` the packages; on failure refresh the lists once and retry. */
export function aptInstall(packages: string[], log: (line: string) => void): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${packages.join(', ')}: install them (apt-get install ${packages.join(' ')}) or run as root`,
    );
  }
  const args = ['install', '-y', '-q', '--no-install-recommends', ...packages];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing ${packages.join(', ')} with apt-get`);
  try {
    run('apt-get', args, { env });
  } catch (err) {
    if (updated) throw err;
    log('apt-get install failed; refreshing package lists and retrying');
    run('apt-get', ['update', '-q'], { env });
    updated = true;
    run('apt-get', args, { env });
  }
}
