// `npm run build` step: bundles the workflows once so production workers start without webpack.
import { prebuiltBundlePath, writePrebuiltBundle } from './workflow-bundle.js';

const bytes = await writePrebuiltBundle();
console.log(`[build] workflow bundle written to ${prebuiltBundlePath()} (${(bytes / 1024).toFixed(0)} KiB)`);
