/**
 * The ingested files' rows in PostgreSQL (files, jobs, resources, errors), every write under the file's
 * lock: the repository the ingest activities use.
 */
export { type FileRow, type JobRow, registeredEtagOf, upsertFile, upsertRunningJob } from './file-rows.js';
export {
  type DeleteInput,
  deleteFileRows,
  type FailureInput,
  type RenameInput,
  type RenameObjects,
  type RenameOutcome,
  recordFailure,
  renameFileRows,
} from './lifecycle.js';
export { type LockWait, lockFiles, type Superseded, withFileLocks } from './locks.js';
export { adoptOriginalRows, chunksInLine, type RekeyedFile, rekeyFileRows } from './rekey-rows.js';
export {
  type ResourceSource,
  replaceResources,
  resourceMetadata,
  type StoreChunksInput,
  type StoreOutcome,
} from './resource-rows.js';
export {
  finishStreamedStore,
  type StreamBatchInput,
  type StreamFinishInput,
  storeStreamBatch,
} from './store.js';
