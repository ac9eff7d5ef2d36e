/**
 * Registering a file (registerFile, and the first step of ingestSmallFile) and, later, checking under the
 * file's lock that S3 still holds the object this run registered: every store and failure record asks
 * that before it writes (src/db/files/locks.ts says why that keeps the rows right).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { headObject } from '../../clients/object-store.js';
import {
  registeredEtagOf,
  type Superseded,
  upsertFile,
  upsertRunningJob,
  withFileLocks,
} from '../../db/files/index.js';
import { MissingObjectError } from '../../domain/errors.js';
import { fileIdFor } from '../../domain/ids.js';
import type { IngestFileInput, RegisteredFile } from '../../domain/ingest.js';
import { describeUnsupported } from '../../domain/provider-catalog.js';
import { boundedMimeType, type StorageEvent } from '../../domain/storage-event.js';
import { pickProvider, UNKNOWN_TYPE_PROVIDER } from '../../providers/index.js';
import { currentWorkflow, jobIdFor, lockWait } from './activity-context.js';

export function createRegistration({ pool, s3 }: { pool: pg.Pool; s3: S3Client }) {
  /**
   * Under a file's lock: does S3 still hold the object this run registered? Gone, or other bytes (a
   * newer upload, whose own run stores it), means this run is superseded.
   */
  async function registeredObjectCheck(
    event: StorageEvent,
    registeredEtag: string | undefined,
  ): Promise<Superseded | undefined> {
    const where = `s3://${event.bucket}/${event.key}`;
    const head = await headObject(s3, event.bucket, event.key);
    if (!head)
      return { reason: `${where} no longer exists (deleted or renamed meanwhile)`, objectGone: true };
    if (registeredEtag !== undefined && head.etag !== undefined && head.etag !== registeredEtag) {
      return {
        reason: `${where} was overwritten meanwhile (etag ${head.etag}, this run read ${registeredEtag}); the newer upload's run stores it`,
        objectGone: false,
      };
    }
    return undefined;
  }

  /**
   * A `check` for a write under the file's lock (registeredObjectCheck against the etag `etagOf` reads),
   * remembering whether it found the object changed: then the version's derived objects serve nobody.
   */
  function watchObject(
    event: StorageEvent,
    etagOf: (client: pg.PoolClient) => Promise<string | undefined>,
  ): { check: (client: pg.PoolClient) => Promise<Superseded | undefined>; changed: () => boolean } {
    let changed = false;
    return {
      check: async (client) => {
        const superseded = await registeredObjectCheck(event, await etagOf(client));
        if (superseded) changed = true;
        return superseded;
      },
      changed: () => changed,
    };
  }

  /**
   * HEADs the object, picks the content provider, upserts the files row (processing) and the job row,
   * under the file's lock (so a store or delete of another event of the file sees either all of it or
   * none). The etag read here is what later steps check S3 against. `pinEarlierEtag`: a retry of the
   * one-activity path checks S3 against what its first attempt registered (kept in the job row), as the
   * four steps check against registerFile's recorded result.
   */
  async function register(
    input: IngestFileInput,
    options: { pinEarlierEtag?: boolean } = {},
  ): Promise<RegisteredFile> {
    const { event } = input;
    const workflow = currentWorkflow();
    const fileId = fileIdFor(event.tenantId, event.path);
    const jobId = jobIdFor(workflow.workflowId);
    const { head, mimeType } = await withFileLocks(pool, [fileId], lockWait(), async (client) => {
      const found = await headObject(s3, event.bucket, event.key);
      if (!found) throw new MissingObjectError(`object s3://${event.bucket}/${event.key} does not exist`);
      // The stored Content-Type is the uploader's word and may be anything (2 KB of it, control
      // characters): only a bounded, well-formed type reaches the files row and the provider choice.
      const stored = boundedMimeType(found.contentType);
      const earlier = options.pinEarlierEtag ? await registeredEtagOf(client, jobId) : undefined;
      const registered = earlier !== undefined ? { ...found, etag: earlier } : found;
      const type = stored && stored !== 'application/octet-stream' ? stored : event.mimeType;
      await upsertRunningJob(client, {
        jobId,
        tenantId: event.tenantId,
        workflowId: workflow.workflowId,
        runId: workflow.runId,
        payload: {
          event,
          tier: input.tier,
          version: input.version,
          source: input.source,
          registeredEtag: registered.etag,
        },
      });
      await upsertFile(client, {
        fileId,
        event,
        size: found.size,
        mimeType: type,
        version: input.version,
        status: 'processing',
      });
      return { head: registered, mimeType: type };
    });
    let provider = pickProvider(mimeType, event.fileName);
    if (!provider) {
      // No provider reads it: the file is still completed, with one resource that describes it.
      const reason = describeUnsupported(mimeType, event.fileName);
      Context.current().log.info('no content provider: storing a metadata resource', {
        path: event.path,
        mimeType,
        reason,
      });
      provider = UNKNOWN_TYPE_PROVIDER;
    }
    Context.current().log.debug('file registered', { path: event.path, fileId, provider, size: head.size });
    return {
      fileId,
      jobId,
      size: head.size,
      mimeType,
      provider,
      lastModified: head.lastModified?.toISOString(),
      ...(head.etag !== undefined ? { etag: head.etag } : {}),
    };
  }

  return { register, registeredObjectCheck, watchObject };
}
