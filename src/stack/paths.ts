import { isAbsolute, join, resolve } from 'node:path';
import { projectRoot } from '../config/project-root.js';

/** Server binaries installed by scripts/install-servers.sh (shared by the demo and the test stack). */
export function serverBinDir(): string {
  return join(projectRoot(), '.stack', 'venv', 'bin');
}

export function resolveStackDir(dir: string): string {
  return isAbsolute(dir) ? dir : resolve(projectRoot(), dir);
}

export function samplesDir(): string {
  return resolve(projectRoot(), '..', 'shared', 'samples');
}
