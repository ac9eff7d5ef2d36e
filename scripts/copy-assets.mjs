// `npm run build` step: tsc emits only .js, so copy the other files of src/ (SQL migrations) beside the
// compiled modules that read them relative to themselves.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const from = 'src';
const to = 'dist';
let copied = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (!/\.(ts|tsx)$/.test(name)) {
      cpSync(path, join(to, relative(from, path)));
      copied += 1;
    }
  }
}
walk(from);
console.log(`[build] ${copied} non-TypeScript files of src/ copied into dist/`);
