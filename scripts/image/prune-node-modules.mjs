#!/usr/bin/env node
// Run by the Dockerfile's runtime stage right after `npm install --omit=dev` (same layer, or nothing is
// saved): removes the prebuilt native binaries this image can never load, about 1 GB of its first
// build's 3 GB (make image, docs/DEPLOY.md):
// - node-llama-cpp's GPU and other-platform builds (@node-llama-cpp/linux-x64-cuda, -cuda-ext, -vulkan,
//   linux-arm64, …): the local provider asks for `gpu: false, build: 'never'`
//   (src/activities/insight/llm/local.ts), so only `<platform>-<arch>` is ever loaded;
// - onnxruntime-node's binaries for other platforms and architectures (bin/napi-v*/<platform>/<arch>);
// - Temporal's core bridge for other targets (@temporalio/core-bridge/releases/<target>).
// Usage: node scripts/image/prune-node-modules.mjs [node_modules]   (prints what it removed)
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const modules = process.argv[2] ?? 'node_modules';
if (process.argv[2] === '--help' || process.argv[2] === '-h') {
  console.log('Usage: node scripts/image/prune-node-modules.mjs [node_modules]');
  process.exit(0);
}
if (!existsSync(modules)) {
  console.error(`prune-node-modules: ${modules} does not exist`);
  process.exit(1);
}
const { platform, arch } = process;
// Rust target triples of @temporalio/core-bridge/releases.
const rustTarget = { 'linux-x64': 'x86_64-unknown-linux-gnu', 'linux-arm64': 'aarch64-unknown-linux-gnu' }[
  `${platform}-${arch}`
];
const removed = [];
const remove = (path) => {
  rmSync(path, { recursive: true, force: true });
  removed.push(path);
};
const entries = (dir) => (existsSync(dir) ? readdirSync(dir) : []);

for (const name of entries(join(modules, '@node-llama-cpp')))
  if (name !== `${platform}-${arch}`) remove(join(modules, '@node-llama-cpp', name));

const onnx = join(modules, 'onnxruntime-node/bin');
for (const napi of entries(onnx))
  for (const os of entries(join(onnx, napi))) {
    if (os !== platform) remove(join(onnx, napi, os));
    else for (const cpu of entries(join(onnx, napi, os))) if (cpu !== arch) remove(join(onnx, napi, os, cpu));
  }

if (rustTarget) {
  const releases = join(modules, '@temporalio/core-bridge/releases');
  for (const target of entries(releases)) if (target !== rustTarget) remove(join(releases, target));
}

console.log(`prune-node-modules: kept ${platform}-${arch}; removed ${removed.length ? removed.join(', ') : 'nothing'}`);
