/**
 * `p8fs --version`: this package's version and the Temporal SDK it runs, read from the installed
 * package.json files (not hard-coded), so the answer is right for a source checkout and for dist/ alike.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from '../config/project-root.js';

function versionIn(packageJson: string): string {
  try {
    return String((JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown }).version);
  } catch {
    return 'unknown';
  }
}

/** e.g. `p8fs-flows 0.1.0 (Temporal TypeScript SDK 1.24.0, Node.js v20.19.0)`. */
export function versionText(): string {
  const ours = versionIn(join(projectRoot(), 'package.json'));
  let sdk = 'unknown';
  try {
    sdk = versionIn(createRequire(import.meta.url).resolve('@temporalio/client/package.json'));
  } catch {
    // Not resolvable (an unusual install): say so rather than fail --version.
  }
  return `p8fs-flows ${ours} (Temporal TypeScript SDK ${sdk}, Node.js ${process.version})`;
}
