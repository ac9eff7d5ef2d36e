import { defineConfig } from 'vitest/config';
import { SlowestFirstSequencer } from './test/support/sequencer.js';

// The global setup (the test stack's S3 probe) runs in this process, not in the forks `env` reaches.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/**
 * `make chaos` runs test/chaos/ and `make test` everything else: soaks that stream tens or hundreds of
 * megabytes, kill a process at the right moment, stop a server for tens of seconds and wait for everything
 * to come back, drain hundreds or thousands of files, or need Jaeger (built from source by
 * scripts/install-jaeger.sh, which `make chaos` runs first). Each is a minute or more of mostly waiting,
 * which `make test` (kept under 15 minutes on two cores) cannot afford. A file's folder decides its suite.
 */
const CHAOS_TESTS = 'test/chaos/**/*.test.ts';

export default defineConfig({
  test: {
    // The threads pool breaks the Temporal native bridge: every test file runs in its own process.
    pool: 'forks',
    // Slow, timing-dependent soaks (minutes of streaming, a worker killed at a moment) run in `make chaos`,
    // not in `make test`: see CHAOS_TESTS.
    include: process.env.P8FS_TEST_SUITE === 'chaos' ? [CHAOS_TESTS] : ['test/**/*.test.ts'],
    exclude: process.env.P8FS_TEST_SUITE === 'chaos' ? [] : [CHAOS_TESTS, '**/node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    // The slowest files first, so two workers finish together (test/file-durations.json).
    sequence: { sequencer: SlowestFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: true,
    // Three files at a time on two cores: most of a file's time is waiting on servers (a full run used
    // ~1.3 of 2 cores with two), so a third keeps the cores busy without starving the servers.
    maxWorkers: 3,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
