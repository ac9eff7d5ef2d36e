/**
 * Per-activity scratch folders for downloads. Named after the worker's pid, so a worker that starts can
 * remove what a killed one left behind (a SIGKILL skips every `finally`) without touching the folders
 * of workers still running on the same host.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'p8fs-extract-';

export function createWorkDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** Removes scratch folders of workers that are gone; returns how many were removed. */
export async function removeOrphanedWorkDirs(): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = Number(/^p8fs-extract-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}
