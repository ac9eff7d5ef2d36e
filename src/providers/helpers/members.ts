/**
 * Files inside a container (ZIP members, e-mail attachments) as the providers hand them on: each is
 * written under `ProviderConfig.memberDir` with a plain numbered name (never the member's own name, which
 * may hold "../" or worse) and listed in the document's `members`; the extract activity uploads and
 * publishes them as files of their own. Counts and bytes are held to the archive limits here, so every
 * container format obeys the same ones.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExtractedMember, ExtractedSection } from '../../domain/content.js';
import { approxBytes, type ExtractionLimits, limitExceeded } from '../limits.js';
import type { ProviderContext } from '../provider.js';

/** A member's bytes went past what was left of the budget while it was written. */
export class MemberBudgetError extends Error {
  override readonly name = 'MemberBudgetError';
}

export class MemberWriter {
  readonly members: ExtractedMember[] = [];
  /** Members listed but not written (encrypted, inline parts), with why: shown in the parent's resource. */
  readonly skipped: { name: string; reason: string }[] = [];
  private bytes = 0;
  private readonly dir: string | undefined;
  private readonly limits: ExtractionLimits;
  private made = false;

  constructor(
    private readonly containerName: string,
    private readonly ctx: ProviderContext,
  ) {
    this.dir = ctx.config.memberDir;
    this.limits = ctx.config.limits;
  }

  /** Refuses a member past the entry limit before any of its bytes are read. */
  checkCount(count: number): void {
    if (count > this.limits.maxArchiveEntries) {
      throw limitExceeded(this.containerName, this.limits, 'maxArchiveEntries', `it holds ${count} files`);
    }
  }

  /** Bytes every member may still take, all together (the decompressed-bytes limit). */
  get remaining(): number {
    return this.limits.maxDecompressedBytes - this.bytes;
  }

  budgetExceeded(detail: string) {
    return limitExceeded(this.containerName, this.limits, 'maxDecompressedBytes', detail);
  }

  private async target(): Promise<string | undefined> {
    if (!this.dir) return undefined;
    if (!this.made) await mkdir(this.dir, { recursive: true });
    this.made = true;
    return join(this.dir, `member-${String(this.members.length + 1).padStart(5, '0')}`);
  }

  /** A member whose bytes are in memory (an e-mail attachment). */
  async addBuffer(name: string, data: Buffer, mimeType?: string): Promise<void> {
    this.ctx.signal.throwIfAborted();
    this.checkCount(this.members.length + 1);
    if (data.length > this.remaining) {
      throw this.budgetExceeded(
        `${name} brings the files it holds to ${approxBytes(this.bytes + data.length)}`,
      );
    }
    const path = await this.target();
    if (path) await writeFile(path, data, { signal: this.ctx.signal });
    this.record(name, path, data.length, mimeType);
  }

  /**
   * A member streamed from `source` (an inflating ZIP entry), counted as it flows: past the budget it
   * stops with MemberBudgetError whatever the archive declared. Without a memberDir it is only counted.
   */
  async addStream(name: string, source: Readable, mimeType?: string): Promise<void> {
    this.ctx.signal.throwIfAborted();
    this.checkCount(this.members.length + 1);
    const path = await this.target();
    const budget = this.remaining;
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > budget) done(new MemberBudgetError(`${name} inflates past what is left of the budget`));
        else done(null, chunk);
      },
    });
    const sink = path
      ? createWriteStream(path)
      : new Writable({
          write(_chunk, _encoding, done) {
            done();
          },
        });
    try {
      await pipeline(source, counter, sink, { signal: this.ctx.signal });
    } catch (err) {
      this.ctx.signal.throwIfAborted();
      throw err;
    }
    this.record(name, path, size, mimeType);
    this.ctx.heartbeat({ members: this.members.length, bytes: this.bytes });
  }

  private record(name: string, path: string | undefined, size: number, mimeType?: string): void {
    this.bytes += size;
    this.members.push({
      name,
      file: path ? (path.split('/').pop() as string) : '',
      size,
      ...(mimeType ? { mimeType } : {}),
    });
  }

  /** The parent's own resource: what it holds, so a search for a member's name finds its container. */
  listing(what: string): ExtractedSection[] {
    if (this.members.length === 0 && this.skipped.length === 0) return [];
    const lines = this.members.map((m) => `- ${m.name} (${approxBytes(m.size)})`);
    for (const s of this.skipped) lines.push(`- ${s.name}: not extracted (${s.reason})`);
    return [
      {
        text: `${this.containerName} holds ${this.members.length} ${what}:\n${lines.join('\n')}`,
        kind: 'metadata',
        metadata: {
          members: this.members.map((m) => ({ name: m.name, size: m.size })),
          ...(this.skipped.length ? { skipped: this.skipped } : {}),
        },
      },
    ];
  }
}

/** A buffer as a stream, for addStream. */
export function bufferStream(data: Buffer): Readable {
  return Readable.from([data]);
}
