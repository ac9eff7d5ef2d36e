/**
 * Brings the test stack up once for the whole run (reusing servers that already answer) and bundles the
 * workflows once into dist/workflow-bundle.js, which every worker of every test file (in-process or a
 * child `p8fs worker`) then loads instead of bundling src/workflows itself: one webpack run instead of
 * one per file, and never a stale bundle from an earlier build. With
 * P8FS_TEST_STOP_STACK=1 (what `make test` sets) the servers this run started are stopped again at the
 * end; servers it found running are left alone, so a stack someone keeps up for quick re-runs survives.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { stackDown, stackUp } from '../../src/stack/stack.js';
import { prebuiltBundlePath, writePrebuiltBundle } from '../../src/workers/workflow-bundle.js';
import { testStackConfig } from './test-stack.js';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  // Bundling (CPU) and starting the servers (mostly waiting) overlap.
  const bundling = Date.now();
  mkdirSync(dirname(prebuiltBundlePath()), { recursive: true });
  const bundled = writePrebuiltBundle().then((bytes) =>
    console.log(
      `[test-stack] workflow bundle: ${prebuiltBundlePath()} (${(bytes / 1024).toFixed(0)} KiB, ${((Date.now() - bundling) / 1000).toFixed(1)} s)`,
    ),
  );
  if (process.env.P8FS_TEST_STACK === 'external') {
    console.log('[test-stack] P8FS_TEST_STACK=external: using the servers given by the environment');
    await bundled;
    return undefined;
  }
  const started = Date.now();
  const [states] = await Promise.all([
    // The test stack's data is disposable: a cluster an older PostgreSQL made is replaced, not refused.
    stackUp(testStackConfig(), (line) => console.log(`[test-stack] ${line}`), { disposableData: true }),
    bundled,
  ]);
  const summary = states.map((s) => `${s.name} ${s.state}`).join(', ');
  console.log(`[test-stack] ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary}`);
  const ours = states.filter((s) => s.state === 'started').map((s) => s.name);
  if (process.env.P8FS_TEST_STOP_STACK !== '1' || ours.length === 0) return undefined;
  return async () => {
    console.log(`[test-stack] stopping the servers this run started: ${ours.join(', ')}`);
    await stackDown(testStackConfig(), (line) => console.log(`[test-stack] ${line}`), ours);
  };
}
