// docs/configuration.md is generated from the config schema: fails when it is stale.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, renderConfigurationDoc } from '../../scripts/config-doc.js';
import { schema } from '../../src/config.js';

const STALE = 'docs/configuration.md is stale: run `npm run docs:config`';

describe('docs/configuration.md', () => {
  const doc = readFileSync(CONFIGURATION_DOC, 'utf8');

  it('is what npm run docs:config renders from src/config.ts', () => {
    expect(doc, STALE).toBe(renderConfigurationDoc());
  });

  it('has a row for every variable of the schema', () => {
    const rows = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` +\|/gm)].map((m) => m[1]));
    for (const name of Object.keys(schema.shape)) {
      expect(rows.has(name), `${name} has no row: ${STALE}`).toBe(true);
    }
  });
});
