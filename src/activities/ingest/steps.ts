/**
 * The four steps of a file that does not take the one-activity path: registerFile → extractText →
 * chunkText → storeChunks. Big data moves through S3 (the derived bucket); the workflow only ever sees
 * keys and counts. Each step is idempotent (deterministic ids, derived objects overwritten at fixed keys,
 * rows replaced), so Temporal may retry any of them after a crash without duplicating anything.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { getJson, putFile } from '../../clients/object-store.js';
import { finishStreamedStore } from '../../db/files/index.js';
import type { Chunk } from '../../domain/chunking.js';
import type { ExtractedDocument } from '../../domain/content.js';
import {
  type ChunkingResult,
  derivedPrefix,
  type ExtractionResult,
  type IngestFileInput,
  type RegisteredFile,
  type StoreResult,
} from '../../domain/ingest.js';
import { createWorkDir } from '../work-dirs.js';
import { currentWorkflow, lockWait, providerContext } from './activity-context.js';
import { JsonLinesWriter, readJsonValues } from './derived-objects.js';
import type { IngestDeps, IngestPipeline } from './pipeline.js';
import { previousCheckpoint, providerVersionOf, streamFile, streams } from './streaming.js';

export function createIngestSteps({ cfg, pool, s3 }: IngestDeps, pipeline: IngestPipeline) {
  const derivedBucket = cfg.s3.derivedBucket;

  return {
    /**
     * HEADs the object, picks the content provider, upserts the files row (processing) and the job row,
     * under the file's lock (so a store or delete of another event of the file sees either all of it or
     * none). The etag read here is what later steps check S3 against.
     */
    registerFile: (input: IngestFileInput): Promise<RegisteredFile> => pipeline.register(input),

    /** Streams the object to a temp file, extracts its text and writes the ExtractedDocument to S3. */
    async extractText(input: IngestFileInput, file: RegisteredFile): Promise<ExtractionResult> {
      const { event } = input;
      const workDir = await createWorkDir();
      try {
        // A retry of a streamed file keeps the checkpoint in every heartbeat, the download's too.
        const resume = previousCheckpoint(cfg, input, file);
        const { source, sha256 } = await pipeline.download(input, file, workDir, resume);
        Context.current().heartbeat({ step: 'extract', bytes: source.size });
        const limits = cfg.limits[input.tier];
        if (streams(cfg, file.provider, source)) {
          // Huge text-like files: extracted, chunked and stored as one resumable stream (streaming.ts).
          return await streamFile(
            { cfg, pool, s3, extractionPool: pipeline.extractionPool },
            {
              input,
              file,
              source,
              contentHash: sha256,
              ctx: providerContext({
                limits: limits.extraction,
                media: cfg.media,
                memberDir: join(workDir, 'members'),
              }),
              memoryMb: limits.memoryMb,
              memoryVariable: limits.memoryVariable,
              resume,
              check: () => pipeline.registeredObjectCheck(event, file.etag),
              wait: lockWait(),
            },
          );
        }
        // Extracted whole to a JSON file beside the download (extractWhole), and from there to S3.
        const { extracted, memberFiles } = await pipeline.extractWhole(
          input,
          file,
          source,
          workDir,
          source.size,
        );
        const extractedKey = `${derivedPrefix(event.tenantId, file.fileId, input.version)}/extracted.json`;
        await putFile(s3, derivedBucket, extractedKey, extracted.path);
        return {
          extractedKey,
          provider: extracted.provider,
          pageCount: extracted.pageCount,
          sectionCount: extracted.sectionCount,
          characters: extracted.characters,
          contentHash: sha256,
          ...(providerVersionOf(extracted.provider)
            ? { providerVersion: providerVersionOf(extracted.provider) }
            : {}),
          ...(memberFiles > 0 ? { memberFiles } : {}),
        };
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },

    /**
     * Reads the extracted document from S3, chunks it token-aware and writes the chunks to S3 as JSON
     * Lines. Chunking runs in slices (see cooperativePause) and the chunks are uploaded in parts while
     * later ones are still being cut, so a document of hundreds of megabytes heartbeats all along.
     */
    async chunkText(
      input: IngestFileInput,
      file: RegisteredFile,
      extraction: ExtractionResult,
    ): Promise<ChunkingResult> {
      const { cancellationSignal: signal } = Context.current();
      if (extraction.streamed) {
        // Chunked (and stored) while it was extracted: only the counts go on.
        const { chunkCount, tokenCount } = extraction.streamed;
        return { chunksKey: extraction.extractedKey, chunkCount, tokenCount };
      }
      const document = await getJson<ExtractedDocument>(s3, derivedBucket, extraction.extractedKey);
      Context.current().heartbeat({ step: 'chunk', sections: document.sections.length });
      const chunksKey = `${derivedPrefix(input.event.tenantId, file.fileId, input.version)}/chunks.jsonl`;
      const writer = new JsonLinesWriter(s3, derivedBucket, chunksKey, { signal });
      let tokenCount = 0;
      try {
        tokenCount = await pipeline.chunkSections(
          document.sections,
          (chunk) => writer.write(chunk),
          () => ({ step: 'chunk', chunks: writer.lines, bytes: writer.bytes }),
        );
        await writer.close();
      } catch (error) {
        await writer.abort();
        throw error;
      }
      return { chunksKey, chunkCount: writer.lines, tokenCount };
    },

    /**
     * Replaces the file's resources with the chunks in one transaction and completes file and job rows.
     * The chunks stream from S3 into insert batches, heartbeating after each. Under the file's lock it
     * first claims the file for this attempt and checks that S3 still holds the registered object; an
     * earlier attempt that wakes up late, or a run whose object was deleted, renamed or overwritten
     * meanwhile, writes nothing and reports `superseded`.
     */
    async storeChunks(
      input: IngestFileInput,
      file: RegisteredFile,
      extraction: ExtractionResult,
      chunking: ChunkingResult,
    ): Promise<StoreResult> {
      const { info, cancellationSignal: signal, log } = Context.current();
      const workflow = currentWorkflow();
      const watch = pipeline.watchObject(input.event, async () => file.etag);
      if (extraction.streamed) {
        // The chunks are stored already (streaming.ts): remove what this version did not write, complete.
        const finished = await finishStreamedStore(pool, {
          fileId: file.fileId,
          jobId: file.jobId,
          event: input.event,
          version: input.version,
          provider: extraction.provider,
          chunkCount: extraction.streamed.chunkCount,
          pageCount: extraction.pageCount,
          contentHash: extraction.contentHash,
          ...(file.etag !== undefined ? { sourceEtag: file.etag } : {}),
          claim: { runId: workflow.runId, attempt: info.attempt },
          check: watch.check,
          wait: lockWait(),
        });
        if ('superseded' in finished) {
          log.info('store superseded: not completed', {
            path: input.event.path,
            reason: finished.superseded,
          });
          if (watch.changed()) await pipeline.dropDerived(input, file.fileId);
          return { resourcesStored: 0, resourcesReplaced: 0, superseded: finished.superseded };
        }
        return {
          resourcesStored: extraction.streamed.chunkCount,
          resourcesReplaced: extraction.streamed.resourcesReplaced + finished.removed,
        };
      }
      return pipeline.storeWhole(
        input,
        file,
        extraction,
        readJsonValues<Chunk>(s3, derivedBucket, chunking.chunksKey, signal),
        chunking.chunkCount,
        true,
      );
    },
  };
}
