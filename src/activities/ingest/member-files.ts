/**
 * Files inside files: ZIP members and e-mail attachments, written by their container's provider into
 * the extraction's member folder (src/providers/helpers/members.ts), become files of their own here. Each is
 * uploaded next to its container, `{container key}.parts/{member path}` in the same bucket (the path
 * cleaned so it cannot leave that prefix), and announced with a storage event on the events subject, so
 * it goes through the bridge and its own ingestFile run like any upload.
 *
 * Retries are harmless: the key is a function of the member's name, the upload writes the same bytes
 * (same etag, so the same workflow id at the bridge), and the event's Nats-Msg-Id is derived from the
 * container's version and the member's name, so JetStream stores a re-published event once.
 * Archives in archives are followed to maxArchiveDepth levels, counted from the key's ".parts/" segments.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../clients/nats.js';
import type { Config } from '../../config/config.js';
import type { ExtractedMember } from '../../domain/content.js';
import { mimeTypeForFileName } from '../../domain/provider-catalog.js';
import type { StorageEvent } from '../../domain/storage-event.js';
import { type ExtractionLimits, limitExceeded } from '../../providers/limits.js';

/** Where member events go: the storage events subject, with JetStream's publish dedup. */
export interface MemberEventPublisher {
  publish(event: Record<string, unknown>, msgId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A publisher that connects to NATS on first use (most files hold no members) and keeps the connection
 * for the worker's life; `close` ends it at shutdown.
 */
export function createMemberEventPublisher(cfg: Config): MemberEventPublisher {
  let connecting: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  const connection = () => {
    connecting ??= connectNats(cfg, 'p8fs-worker-members').then((nc) => ({ nc, js: jetstream(nc) }));
    // A failed connection is retried by the next attempt, not remembered.
    connecting.catch(() => {
      connecting = undefined;
    });
    return connecting;
  };
  return {
    async publish(event, msgId) {
      const { js } = await connection();
      await js.publish(cfg.nats.eventsSubject, JSON.stringify(event), { msgID: msgId });
    },
    async close() {
      const open = connecting;
      connecting = undefined;
      if (open) await (await open.catch(() => undefined))?.nc.close();
    },
  };
}

/** The key prefix members of an object are stored under. */
export const MEMBERS_SUFFIX = '.parts/';

/** How many containers an object sits in, from its key ("a.zip.parts/b.zip.parts/c.txt" → 2). */
export function archiveDepth(key: string): number {
  return key.split(MEMBERS_SUFFIX).length - 1;
}

// Characters kept in a member's path segment; anything else (control and format characters, quotes,
// backslashes, '%', '#', '?') becomes '_', so the key is plain for S3, the filer and every event parser.
const UNSAFE = /[^\p{L}\p{N} ._()+,=@~-]/gu;

/**
 * A member's path below its container's `.parts/` prefix: separators normalised, "." and ".." and empty
 * segments dropped (nothing can climb out of the prefix), unsafe characters replaced, each segment and
 * the whole bounded; names that end up empty or taken get a numbered one.
 */
export function memberPath(name: string, index: number, taken: Set<string>): string {
  const segments = name
    .split(/[\\/]+/)
    .map((segment) => segment.replace(UNSAFE, '_').trim().slice(0, 120))
    .filter((segment) => segment && segment !== '.' && segment !== '..' && !/^\.+$/.test(segment));
  let path = segments.join('/').slice(-400).replace(/^\/+/, '');
  if (!path) path = `member-${index + 1}`;
  if (taken.has(path)) path = `${index + 1}-${path}`;
  taken.add(path);
  return path;
}

export interface MemberUpload {
  event: StorageEvent;
  /** The container's version (the workflow's), part of each member event's Nats-Msg-Id. */
  version: string;
  members: ExtractedMember[];
  /** The folder the provider wrote the members into. */
  memberDir: string;
  limits: ExtractionLimits;
  signal: AbortSignal;
  onProgress?: (done: number) => void;
}

/**
 * Uploads and announces every member of a container; returns how many. A container already nested
 * maxArchiveDepth deep is refused (LimitExceededError) rather than unpacked once more.
 */
export async function ingestMembers(
  s3: S3Client,
  publisher: MemberEventPublisher,
  upload: MemberUpload,
): Promise<number> {
  const { event, members, limits } = upload;
  if (members.length === 0) return 0;
  const depth = archiveDepth(event.key);
  if (depth >= limits.maxArchiveDepth) {
    throw limitExceeded(
      event.fileName,
      limits,
      'maxArchiveDepth',
      `it is itself inside ${depth} archive${depth === 1 ? '' : 's'} (${event.key})`,
    );
  }
  const taken = new Set<string>();
  for (const [index, member] of members.entries()) {
    upload.signal.throwIfAborted();
    const key = `${event.key}${MEMBERS_SUFFIX}${memberPath(member.name, index, taken)}`;
    const mimeType =
      member.mimeType && member.mimeType !== 'application/octet-stream'
        ? member.mimeType
        : mimeTypeForFileName(key);
    const local = join(upload.memberDir, member.file);
    const { size } = await stat(local);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: event.bucket,
        Key: key,
        Body: createReadStream(local),
        ContentLength: size,
        ContentType: mimeType,
      }),
      { abortSignal: upload.signal },
    );
    const etag = (put.ETag ?? '').replace(/"/g, '');
    const path = `/buckets/${event.bucket}/${key}`;
    const msgId = `p8fs-member-${createHash('sha256')
      .update(`${event.tenantId}\n${event.path}\n${upload.version}\n${member.name}\n${index}`)
      .digest('hex')
      .slice(0, 40)}`;
    await publisher.publish(
      {
        event_type: 'create',
        path,
        size,
        mime_type: mimeType,
        ...(etag ? { etag } : {}),
        container: event.path,
      },
      msgId,
    );
    upload.onProgress?.(index + 1);
  }
  return members.length;
}
