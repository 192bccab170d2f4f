// Docs that cannot drift: every link in README.md and docs/ resolves inside the repository (to a
// file that exists, and to a heading that exists when it names one), and every repository path
// the docs name in backticks exists. A moved file or a renamed section fails here.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...(existsSync(join(ROOT, 'migrations/clickhouse/README.md')) ? ['migrations/clickhouse/README.md'] : []),
];
const PATH_ROOTS = /^(src|test|bench|scripts|migrations|queries|deploy|stack|docs)\/[\w./-]*$/;

/** The text outside fenced code blocks. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchors of a file's headings. */
function anchorsOf(file: string): Set<string> {
  const text = prose(readFileSync(join(ROOT, file), 'utf8'));
  const slugs = [...text.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) =>
    heading!
      .trim()
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-'),
  );
  return new Set(slugs);
}

describe.each(DOCS)('%s', (file) => {
  const text = prose(readFileSync(join(ROOT, file), 'utf8'));

  it('links only to files and headings that exist in the repository', () => {
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:)/.test(target!)) continue;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), path);
      const inRepo = relative(ROOT, resolved);
      if (inRepo.startsWith('..')) broken.push(`${target}: outside the repository`);
      else if (!existsSync(resolved)) broken.push(`${target}: no such file`);
      else if (anchor !== undefined && !anchorsOf(inRepo).has(anchor))
        broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    const missing = [...text.matchAll(/`([^`\s]+)`/g)]
      .map(([, token]) => token!.replace(/[:,.]$/, ''))
      .filter((token) => PATH_ROOTS.test(token))
      .filter((token) => !existsSync(join(ROOT, token)));
    expect([...new Set(missing)]).toEqual([]);
  });
});
