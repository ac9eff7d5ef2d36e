import { defineConfig } from 'vitest/config';

// The global setup (the test stack's S3 probe) runs in this process, not in the forks `env` reaches.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** Run by `make chaos` only: each streams tens of megabytes or waits for a kill at the right moment. */
const CHAOS_TESTS = ['test/integration/content-huge.test.ts', 'test/integration/content-resume.test.ts'];

export default defineConfig({
  test: {
    // The threads pool breaks the Temporal native bridge: every test file runs in its own process.
    pool: 'forks',
    // Slow, timing-dependent soaks (minutes of streaming, a worker killed at a moment) run in `make chaos`,
    // not in `make test`: see CHAOS_TESTS.
    include: process.env.P8FS_TEST_SUITE === 'chaos' ? CHAOS_TESTS : ['test/**/*.test.ts'],
    exclude: process.env.P8FS_TEST_SUITE === 'chaos' ? [] : [...CHAOS_TESTS, '**/node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: true,
    maxWorkers: 2,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
