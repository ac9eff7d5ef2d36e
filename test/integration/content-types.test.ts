/**
 * The new content types through the whole pipeline on real servers (JetStream, bridge, Temporal workers,
 * SeaweedFS, PostgreSQL): HTML and XLSX become resources; an e-mail's attachments and a ZIP's members
 * become files of their own (uploaded next to their container and published as storage events); hostile
 * and damaged files fail non-retryably with a clear message; a file of an unknown type is completed with
 * one metadata resource. Every file is uploaded at once, then each test waits for its own outcome.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/project-root.js';
import { fileIdFor } from '../../src/domain/ids.js';
import { mimeTypeForFileName } from '../../src/domain/provider-catalog.js';
import { MiB, repeatedDeflate, zipArchive } from '../support/hostile-files.js';
import { createPipeline, eventually, type Pipeline } from '../support/pipeline.js';
import { uniqueTenant } from '../support/test-stack.js';

const fixture = (name: string) => readFileSync(join(projectRoot(), 'test/fixtures/content', name));

let p: Pipeline;
const tenant = uniqueTenant('content');

interface FileRow {
  status: string;
  provider: string | null;
  chunk_count: number | null;
  error: string | null;
}

// 300 MiB of one repeated line in ~300 KB: over the 256 MiB decompressed-bytes limit and ~1000:1.
const bomb = zipArchive([
  {
    name: 'payload.txt',
    deflated: repeatedDeflate(Buffer.from(''), Buffer.alloc(MiB, 'A'), 300, Buffer.from('\n')),
  },
]);
const unknownBytes = Buffer.from([0x89, 0x50, 0x38, 0x46, 0x53, 0x00, 0xff, 0x10, 0x20, 0x30]);

const uploads: Record<string, Buffer> = {
  'field-guide.html': fixture('field-guide.html'),
  'inventory.xlsx': fixture('inventory.xlsx'),
  'survey.eml': fixture('survey.eml'),
  'bundle.zip': fixture('bundle.zip'),
  'bomb.zip': bomb,
  'empty.txt': Buffer.alloc(0),
  'binary.txt': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0x00, 0x3e]),
  'broken.docx': Buffer.from('this is plain text, not a Word document'),
  'locked.pdf': fixture('locked.pdf'),
  'firmware.bin': unknownBytes,
};

// Seconds on an idle machine; the ceilings are generous because under a loaded 2-core machine (other
// test files, extraction processes starting) one run was measured at minutes.
const WAIT_MS = 240_000;
const TEST_MS = 270_000;

const pathOf = (key: string) => `/buckets/${tenant}/${key}`;

async function finished(key: string): Promise<FileRow> {
  const fileId = fileIdFor(tenant, pathOf(key));
  return eventually(
    `files row of ${key} to finish`,
    async () => {
      const result = await p.pool.query<FileRow>(
        'SELECT status, provider, chunk_count, error FROM files WHERE id = $1',
        [fileId],
      );
      const row = result.rows[0];
      return row && row.status !== 'processing' ? row : undefined;
    },
    WAIT_MS,
  );
}

async function contents(key: string): Promise<string[]> {
  const result = await p.pool.query<{ content: string }>(
    'SELECT content FROM resources WHERE file_id = $1 ORDER BY ordinal',
    [fileIdFor(tenant, pathOf(key))],
  );
  return result.rows.map((r) => r.content);
}

beforeAll(async () => {
  p = await createPipeline('content');
  await p.startWorkers(['small']);
  await p.startBridge();
  await Promise.all(
    Object.entries(uploads).map(async ([name, body]) => {
      const key = `uploads/${name}`;
      const mime = mimeTypeForFileName(name);
      await p.putObject(tenant, key, body, mime);
      await p.publish({ event_type: 'create', path: pathOf(key), size: body.length, mime_type: mime });
    }),
  );
}, 60_000);

afterAll(async () => {
  await p?.close();
});

describe('content types through the real pipeline', () => {
  it(
    'an HTML page: main text and headings, no scripts, styles, navigation or footer',
    async () => {
      expect(await finished('uploads/field-guide.html')).toMatchObject({
        status: 'completed',
        provider: 'html',
      });
      const text = (await contents('uploads/field-guide.html')).join('\n');
      expect(text).toContain('Tide pools form where the sea retreats & leaves water in rocky hollows.');
      expect(text).toContain('Sea anemones close when the water drains away.');
      for (const junk of [
        'UA-SHOULD-NOT-APPEAR',
        'document.write',
        'font-family',
        'Shop navigation',
        'Copyright footer',
      ]) {
        expect(text).not.toContain(junk);
      }
    },
    TEST_MS,
  );

  it(
    'an XLSX workbook: every chunk repeats its sheet header',
    async () => {
      const row = await finished('uploads/inventory.xlsx');
      expect(row).toMatchObject({ status: 'completed', provider: 'xlsx' });
      const chunks = await contents('uploads/inventory.xlsx');
      expect(chunks.length).toBeGreaterThan(1);
      const text = chunks.join('\n');
      expect(text).toContain('widget-060');
      expect(text).toContain('| Q1 | 1250.5 | Marguerite |');
      for (const chunk of chunks) expect(chunk).toMatch(/\| (Item|Quarter) \|/);
    },
    TEST_MS,
  );

  it(
    "an e-mail: headers and body are the message's resources, each attachment becomes its own file",
    async () => {
      expect(await finished('uploads/survey.eml')).toMatchObject({ status: 'completed', provider: 'eml' });
      const text = (await contents('uploads/survey.eml')).join('\n');
      expect(text).toContain('Subject: Orchard survey results');
      expect(text).toContain('From: "Ada Quist" <ada@example.org>');
      expect(text).toContain('412 apple trees');
      expect(text).toMatch(/survey\.eml holds 2 attachments:\n- tally\.csv .*\n- notes\.txt/);
      const tally = await finished('uploads/survey.eml.parts/tally.csv');
      expect(tally).toMatchObject({ status: 'completed', provider: 'csv' });
      expect((await contents('uploads/survey.eml.parts/tally.csv')).join('\n')).toContain('| Apple | 412 |');
      expect(await finished('uploads/survey.eml.parts/notes.txt')).toMatchObject({ status: 'completed' });
      expect((await contents('uploads/survey.eml.parts/notes.txt')).join('\n')).toContain('quince hedge');
    },
    TEST_MS,
  );

  it(
    'a ZIP archive: both members become files with resources; the archive lists them',
    async () => {
      expect(await finished('uploads/bundle.zip')).toMatchObject({ status: 'completed', provider: 'zip' });
      expect((await contents('uploads/bundle.zip')).join('\n')).toMatch(
        /readme\.txt[\s\S]*docs\/timetable\.md/,
      );
      expect(await finished('uploads/bundle.zip.parts/readme.txt')).toMatchObject({
        status: 'completed',
        provider: 'text',
      });
      expect(await finished('uploads/bundle.zip.parts/docs/timetable.md')).toMatchObject({
        status: 'completed',
        provider: 'markdown',
      });
      expect((await contents('uploads/bundle.zip.parts/docs/timetable.md')).join('\n')).toContain('06:40');
      // One event per member even though the activity may publish again on a retry: exactly two part files.
      const parts = await p.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM files WHERE tenant_id = $1 AND uri LIKE '%bundle.zip.parts/%'",
        [tenant],
      );
      expect(parts.rows[0]?.n).toBe(2);
    },
    TEST_MS,
  );

  it.each([
    ['bomb.zip', /LimitExceededError: bomb\.zip .*\(P8FS_LIMIT_MAX_(COMPRESSION_RATIO|DECOMPRESSED_BYTES)\)/],
    ['empty.txt', /CorruptFileError: empty\.txt is empty \(0 bytes\)/],
    ['binary.txt', /CorruptFileError: binary\.txt is not text: NUL byte at offset 6/],
    ['broken.docx', /CorruptFileError: broken\.docx is damaged or not a DOCX file/],
    ['locked.pdf', /CorruptFileError: locked\.pdf is password-protected/],
  ])(
    '%s fails at once, non-retryably, saying why',
    async (name, message) => {
      const row = await finished(`uploads/${name}`);
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(message);
      expect(await contents(`uploads/${name}`)).toEqual([]);
    },
    TEST_MS,
  );

  it(
    'a file of an unknown type is completed with one metadata resource (name, size, type, hash)',
    async () => {
      expect(await finished('uploads/firmware.bin')).toMatchObject({
        status: 'completed',
        provider: 'file-info',
        chunk_count: 1,
      });
      const [resource] = await contents('uploads/firmware.bin');
      expect(resource).toContain('File: firmware.bin');
      expect(resource).toContain(`Size: ${unknownBytes.length} bytes`);
      expect(resource).toContain('application/octet-stream');
      expect(resource).toContain(`SHA-256: ${createHash('sha256').update(unknownBytes).digest('hex')}`);
    },
    TEST_MS,
  );
});
