import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest folder above this module that holds package.json (works from src/ and dist/). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (no package.json above this module)');
    dir = parent;
  }
  return dir;
}

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
