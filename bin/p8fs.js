#!/usr/bin/env node
// The `p8fs` command: runs the compiled CLI (`npm run build` / `make build` produce dist/).
// The AWS SDK warns that releases after January 2027 need Node 22; ours is pinned and runs on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import('../dist/cli/run.js');
