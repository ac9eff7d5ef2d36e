/** Brings the test stack up once for the whole run (reusing servers that already answer). */
import { stackUp } from '../../src/stack/stack.js';
import { testStackConfig } from './test-stack.js';

export default async function setup(): Promise<void> {
  if (process.env.P8FS_TEST_STACK === 'external') {
    console.log('[test-stack] P8FS_TEST_STACK=external: using the servers given by the environment');
    return;
  }
  const started = Date.now();
  const states = await stackUp(testStackConfig(), (line) => console.log(`[test-stack] ${line}`));
  const summary = states.map((s) => `${s.name} ${s.state}`).join(', ');
  console.log(`[test-stack] ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary}`);
}
