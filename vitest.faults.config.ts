// The fault suite (`npm run test:faults`): stops, pauses and kills the local stack's services,
// so it is not part of `npm test`; CI runs it after. See docs/operations.md "Faults".
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/integration/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});
