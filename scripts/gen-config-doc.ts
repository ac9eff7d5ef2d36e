/**
 * Writes docs/CONFIGURATION.md from the variable declarations (scripts/config-doc.ts renders it);
 * `make docs` runs it.
 *
 *   npx tsx scripts/gen-config-doc.ts           write docs/CONFIGURATION.md
 *   npx tsx scripts/gen-config-doc.ts --check   exit 1 when docs/CONFIGURATION.md is stale
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_DOC_PATH, renderConfigDoc } from './config-doc.js';

const text = renderConfigDoc();
if (process.argv.includes('--check')) {
  const current = existsSync(CONFIG_DOC_PATH) ? readFileSync(CONFIG_DOC_PATH, 'utf8') : '';
  if (current !== text) {
    console.error('docs/CONFIGURATION.md is stale: run `make docs`');
    process.exit(1);
  }
} else {
  writeFileSync(CONFIG_DOC_PATH, text);
  console.log(`[docs] wrote docs/CONFIGURATION.md (${text.split('\n').length - 1} lines)`);
}
