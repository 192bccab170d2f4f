// The cluster fault suite (`npm run test:faults:cluster`): kills nodes of the cluster topology
// (npm run stack -- up --topology cluster), so it is not part of `npm test` or CI. See
// docs/development.md, "The cluster topology".
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'faults-cluster',
    include: ['test/faults-cluster/**/*.test.ts'],
    globalSetup: ['test/integration/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
