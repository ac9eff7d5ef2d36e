/**
 * Per-file locks. Events of one file may be processed out of order and overlap: a delete or rename can be
 * handled while the create run of the same path is still extracting. Every write of a file's rows
 * (register, store, failure, delete, rename) therefore runs in a transaction holding that file's lock
 * (a transaction-level advisory lock on the file id, which exists before the files row does, plus the row
 * itself FOR UPDATE where it exists) and, under that lock, asks S3 whether its event still describes the
 * object (the callers' `check` callbacks). This decides correctly because a storage event is produced only
 * after S3 changed: if the HEAD under the lock shows the object this run registered, any later change
 * (overwrite, delete, rename) has its own event whose run takes the same lock after this transaction
 * commits and brings the rows up to date; if it shows something else, that change's run owns the rows and
 * this run writes nothing of its version. So the rows always end up matching the object S3 holds after
 * the last event.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { inTransaction } from '../transaction.js';

/** How a transaction waits for a file lock another one holds: heartbeating, and stopping when cancelled. */
export interface LockWait {
  signal?: AbortSignal;
  /** Called while waiting (e.g. an activity heartbeat), at most every `pollMs`. */
  onWait?: () => void;
  pollMs?: number;
}

/** Why a write no longer applies; `objectGone`: the object is no longer in S3 at all. */
export interface Superseded {
  reason: string;
  objectGone: boolean;
}

// The advisory-lock class of file locks (two-int form, apart from the migrations' single-bigint lock).
const FILE_LOCK_CLASS = 0x7038_6601;

function fileLockKey(fileId: string): number {
  return Number.parseInt(fileId.replace(/-/g, '').slice(0, 8), 16) | 0;
}

/**
 * Takes the file locks of `fileIds` for the rest of the transaction, in a fixed order (no deadlock
 * between a rename and a store). Waits by polling `pg_try_advisory_xact_lock`, so a waiter keeps
 * heartbeating while another transaction of the same file (a long store) finishes, and stops at once
 * when its activity is cancelled.
 */
export async function lockFiles(
  client: pg.PoolClient,
  fileIds: string[],
  wait: LockWait = {},
): Promise<void> {
  const keys = [...new Set(fileIds.map(fileLockKey))].sort((a, b) => a - b);
  for (const key of keys) {
    for (;;) {
      wait.signal?.throwIfAborted();
      const result = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1, $2) AS locked',
        [FILE_LOCK_CLASS, key],
      );
      if (result.rows[0]?.locked) break;
      wait.onWait?.();
      await sleep(wait.pollMs ?? 250, undefined, wait.signal ? { signal: wait.signal } : undefined).catch(
        () => undefined,
      );
    }
  }
}

/** `work` in one transaction that holds the locks of `fileIds` (see lockFiles). */
export function withFileLocks<T>(
  pool: pg.Pool,
  fileIds: string[],
  wait: LockWait,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await lockFiles(client, fileIds, wait);
    return work(client);
  });
}
