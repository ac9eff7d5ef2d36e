// `npm run build` step: bundles the workflows once so production workers start without webpack.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { prebuiltBundlePath, quietLogger, workflowsSourcePath } from './workflow-bundle.js';

const { code } = await bundleWorkflowCode({ workflowsPath: workflowsSourcePath(), logger: quietLogger });
await writeFile(prebuiltBundlePath(), code);
console.log(
  `[build] workflow bundle written to ${prebuiltBundlePath()} (${(code.length / 1024).toFixed(0)} KiB)`,
);
