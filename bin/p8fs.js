#!/usr/bin/env node
// Runs the compiled CLI (npm run build). Errors print as one readable message, not a stack dump.
// The AWS SDK warns that releases after January 2027 need Node 22; ours is pinned and runs on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/cli/main.js');

main().catch((error) => {
  console.error(`p8fs: ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.P8FS_DEBUG) console.error(error);
  process.exitCode = 1;
});
