import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { type EventCheckIo, registerEventCommands } from '../../src/cli/commands/event.js';
import {
  boundedMimeType,
  IGNORE_CATEGORIES,
  isReservedBucket,
  MAX_MIME_TYPE_CHARS,
  type ParseOutcome,
  parseStorageEvent,
  RESERVED_BUCKET_PREFIX,
  type StorageEvent,
} from '../../src/domain/storage-event.js';
import { tierForSize } from '../../src/domain/tiers.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PDF = '/buckets/tenant-test/uploads/report.pdf';

function eventOf(input: unknown): StorageEvent {
  const outcome = parseStorageEvent(input);
  if (outcome.kind !== 'event') throw new Error(`expected an event, got ${outcome.kind}: ${outcome.reason}`);
  return outcome.event;
}

function reasonOf(input: unknown, kind: 'reject' | 'ignore'): string {
  const outcome: ParseOutcome = parseStorageEvent(input);
  if (outcome.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(outcome)}`);
  return outcome.reason;
}

const rejected = (input: unknown) => reasonOf(input, 'reject');
const ignored = (input: unknown) => reasonOf(input, 'ignore');
const create = (extra: Record<string, unknown>) => ({ event_type: 'create', ...extra });

describe('parseStorageEvent: accepted shapes', () => {
  it('normalises the DESIGN.md example event', () => {
    const input = `{"event_type":"create","path":"${PDF}","size":840059,"mime_type":"application/pdf"}`;
    expect(parseStorageEvent(input)).toEqual({
      kind: 'event',
      event: {
        type: 'create',
        path: PDF,
        bucket: 'tenant-test',
        key: 'uploads/report.pdf',
        tenantId: 'tenant-test',
        category: 'uploads',
        fileName: 'report.pdf',
        size: 840059,
        mimeType: 'application/pdf',
      },
    });
  });

  it('normalises a SeaweedFS-filer-like entry', () => {
    const event = eventOf({
      event_type: 'create',
      entry: { FullPath: '/buckets/t1/docs/a.pdf', attributes: { file_size: '12', mime: 'application/pdf' } },
    });
    expect(event).toMatchObject({
      type: 'create',
      path: '/buckets/t1/docs/a.pdf',
      tenantId: 't1',
      bucket: 't1',
      key: 'docs/a.pdf',
      category: 'docs',
      fileName: 'a.pdf',
      size: 12,
      mimeType: 'application/pdf',
    });
  });

  it('accepts the payload as an object, a JSON string or UTF-8 bytes', () => {
    const object = { event_type: 'create', path: PDF };
    const expected = eventOf(object);
    expect(eventOf(JSON.stringify(object))).toEqual(expected);
    expect(eventOf(new TextEncoder().encode(JSON.stringify(object)))).toEqual(expected);
    expect(eventOf(Buffer.from(JSON.stringify(object)))).toEqual(expected);
  });

  it.each([
    ['create', 'create'],
    ['created', 'create'],
    ['put', 'create'],
    ['upload', 'create'],
    ['uploaded', 'create'],
    ['update', 'update'],
    ['updated', 'update'],
    ['modify', 'update'],
    ['modified', 'update'],
    ['delete', 'delete'],
    ['deleted', 'delete'],
    ['remove', 'delete'],
    ['removed', 'delete'],
  ])('maps type alias %s to %s, case-insensitively', (alias, type) => {
    expect(eventOf({ event_type: alias, path: PDF }).type).toBe(type);
    expect(eventOf({ event_type: alias.toUpperCase(), path: PDF }).type).toBe(type);
    expect(eventOf({ event_type: ` ${alias[0]?.toUpperCase()}${alias.slice(1)} `, path: PDF }).type).toBe(
      type,
    );
  });

  it.each(['rename', 'renamed', 'move', 'moved', 'RENAME', 'Move'])(
    'maps type alias %s to rename',
    (alias) => {
      const event = eventOf({
        event_type: alias,
        old_path: '/buckets/t/a/old.txt',
        new_path: '/buckets/t/b/new.txt',
      });
      expect(event.type).toBe('rename');
    },
  );

  it.each(['event_type', 'operation', 'type'])('reads the type from %s', (field) => {
    expect(eventOf({ [field]: 'delete', path: PDF }).type).toBe('delete');
  });

  it('prefers event_type over operation over type', () => {
    expect(eventOf({ event_type: 'delete', operation: 'create', type: 'update', path: PDF }).type).toBe(
      'delete',
    );
    expect(eventOf({ operation: 'update', type: 'create', path: PDF }).type).toBe('update');
    expect(eventOf({ event_type: null, type: 'update', path: PDF }).type).toBe('update');
  });

  it('reads the path from path, key or entry.FullPath', () => {
    expect(eventOf(create({ path: PDF })).path).toBe(PDF);
    expect(eventOf(create({ key: PDF })).path).toBe(PDF);
    expect(eventOf(create({ entry: { FullPath: PDF } })).path).toBe(PDF);
    expect(eventOf(create({ path: PDF, key: '/buckets/other/x.txt' })).path).toBe(PDF);
  });

  it('places a bucket-relative key in its bucket', () => {
    expect(eventOf(create({ bucket: 'tenant-test', key: 'uploads/report.pdf' }))).toMatchObject({
      path: PDF,
      tenantId: 'tenant-test',
      key: 'uploads/report.pdf',
    });
    expect(eventOf(create({ bucket: 'tenant-test', key: PDF })).path).toBe(PDF);
  });

  it('derives tenant, category, key and file name', () => {
    expect(eventOf(create({ path: '/buckets/acme/notes/2024/06/day.md' }))).toMatchObject({
      tenantId: 'acme',
      bucket: 'acme',
      category: 'notes',
      key: 'notes/2024/06/day.md',
      fileName: 'day.md',
    });
  });

  it('puts a file at the bucket root in the "uncategorized" category', () => {
    expect(eventOf(create({ path: '/buckets/acme/readme.txt' }))).toMatchObject({
      category: 'uncategorized',
      key: 'readme.txt',
      fileName: 'readme.txt',
    });
  });

  it('keeps names with spaces, unicode, dots and literal percent signs', () => {
    const path = '/buckets/acme/docs/Q3 résumé..final 100%.v2.pdf';
    expect(eventOf(create({ path }))).toMatchObject({ path, fileName: 'Q3 résumé..final 100%.v2.pdf' });
    expect(eventOf(create({ path: '/buckets/acme/docs/a%20b.pdf' })).fileName).toBe('a%20b.pdf');
    expect(eventOf(create({ path: '/buckets/acme/.hidden/.env' })).fileName).toBe('.env');
  });

  it('accepts bucket names with digits, dots, dashes and underscores up to 63 characters', () => {
    for (const bucket of ['t', '0', 'tenant_1.prod-eu', 'a'.repeat(63)]) {
      expect(eventOf(create({ path: `/buckets/${bucket}/f.txt` })).tenantId).toBe(bucket);
    }
  });

  it('accepts a matching bucket field next to a path', () => {
    expect(eventOf(create({ path: PDF, bucket: 'tenant-test' })).tenantId).toBe('tenant-test');
  });

  it.each([
    ['size', { size: 42 }],
    ['file_size', { file_size: 42 }],
    ['entry.Size', { entry: { FullPath: PDF, Size: 42 } }],
    ['entry.attributes.file_size', { entry: { FullPath: PDF, attributes: { file_size: 42 } } }],
  ])('reads the size from %s', (_field, extra) => {
    expect(eventOf(create({ path: PDF, ...extra })).size).toBe(42);
  });

  it('accepts sizes sent as numeric strings, and zero', () => {
    expect(eventOf(create({ path: PDF, size: '840059' })).size).toBe(840059);
    expect(eventOf(create({ path: PDF, file_size: ' 7 ' })).size).toBe(7);
    expect(eventOf(create({ path: PDF, size: 0 })).size).toBe(0);
    expect(eventOf(create({ path: PDF, size: '0' })).size).toBe(0);
  });

  it('leaves size undefined when no producer field carries it', () => {
    const event = eventOf(create({ path: PDF }));
    expect(event.size).toBeUndefined();
    expect('size' in event).toBe(false);
    expect(eventOf(create({ path: PDF, size: null })).size).toBeUndefined();
  });

  it.each([
    ['content_type', { content_type: 'text/plain' }],
    ['mime_type', { mime_type: 'text/plain' }],
    ['entry.Mime', { entry: { FullPath: PDF, Mime: 'text/plain' } }],
    ['entry.attributes.mime', { entry: { FullPath: PDF, attributes: { mime: 'text/plain' } } }],
  ])('reads the mime type from %s', (_field, extra) => {
    expect(eventOf(create({ path: PDF, ...extra })).mimeType).toBe('text/plain');
  });

  it('treats a blank mime type as unknown', () => {
    expect(eventOf(create({ path: PDF, content_type: '', mime_type: 'text/plain' })).mimeType).toBe(
      'text/plain',
    );
    expect(eventOf(create({ path: PDF, mime_type: '  ' })).mimeType).toBeUndefined();
  });

  it.each([
    ['etag', { etag: 'abc123' }, 'abc123'],
    ['etag (HTTP-quoted)', { etag: '"abc123"' }, 'abc123'],
    ['md5', { md5: 'XrY7u+Ae7tCTyyK7j1rNww==' }, 'XrY7u+Ae7tCTyyK7j1rNww=='],
    ['version', { version: 'v7' }, 'v7'],
    ['sequence', { sequence: 99 }, '99'],
    ['entry.attributes.md5', { entry: { FullPath: PDF, attributes: { md5: 'q1w2' } } }, 'q1w2'],
  ])('reads the content version from %s', (_field, extra, version) => {
    const event = eventOf(create({ path: PDF, ...extra }));
    expect(event.version).toBe(version);
    expect(event.mtime).toBeUndefined();
  });

  it.each([
    ['mtime (number)', { mtime: 1718000000 }, '1718000000'],
    ['mtime (string)', { mtime: '1718000000' }, '1718000000'],
    ['entry.attributes.mtime', { entry: { FullPath: PDF, attributes: { mtime: 1718000000 } } }, '1718000000'],
  ])('keeps a modification time from %s apart from the content version', (_field, extra, mtime) => {
    const event = eventOf(create({ path: PDF, ...extra }));
    expect(event.mtime).toBe(mtime);
    expect(event.version).toBeUndefined();
  });

  it('takes the first content version present (etag, md5, version, sequence) and the mtime beside it', () => {
    const all = eventOf(create({ path: PDF, sequence: 3, mtime: 2, version: 'v', md5: 'm', etag: 'e' }));
    expect(all).toMatchObject({ version: 'e', mtime: '2' });
    expect(eventOf(create({ path: PDF, sequence: 3, mtime: 2 }))).toMatchObject({ version: '3', mtime: '2' });
    expect(eventOf(create({ path: PDF, etag: '', sequence: 3 })).version).toBe('3');
    expect(eventOf(create({ path: PDF, md5: 'm', version: 'v' })).version).toBe('m');
    const bare = eventOf(create({ path: PDF }));
    expect(bare.version).toBeUndefined();
    expect('mtime' in bare).toBe(false);
  });
});

describe('parseStorageEvent: rename', () => {
  it('reads old_path / new_path', () => {
    expect(
      eventOf({ event_type: 'rename', old_path: '/buckets/t/a/old.txt', new_path: '/buckets/t/b/new.txt' }),
    ).toMatchObject({
      type: 'rename',
      path: '/buckets/t/b/new.txt',
      key: 'b/new.txt',
      category: 'b',
      fileName: 'new.txt',
      oldPath: '/buckets/t/a/old.txt',
      oldKey: 'a/old.txt',
    });
  });

  it('reads old_key / new_key relative to the bucket', () => {
    expect(
      eventOf({ operation: 'move', bucket: 't', old_key: 'a/old.txt', new_key: 'new.txt' }),
    ).toMatchObject({
      path: '/buckets/t/new.txt',
      category: 'uncategorized',
      oldPath: '/buckets/t/a/old.txt',
      oldKey: 'a/old.txt',
    });
  });

  it('reads from / to, as paths or bucket-relative keys', () => {
    expect(eventOf({ type: 'moved', from: '/buckets/t/a.txt', to: '/buckets/t/b.txt' })).toMatchObject({
      path: '/buckets/t/b.txt',
      oldPath: '/buckets/t/a.txt',
    });
    expect(eventOf({ type: 'renamed', bucket: 't', from: 'x/a.txt', to: 'x/b.txt' })).toMatchObject({
      path: '/buckets/t/x/b.txt',
      oldKey: 'x/a.txt',
    });
  });

  it('falls back to path for the new location', () => {
    expect(
      eventOf({ event_type: 'rename', old_path: '/buckets/t/a.txt', path: '/buckets/t/b.txt' }).path,
    ).toBe('/buckets/t/b.txt');
  });

  it('rejects a rename without an old path', () => {
    expect(rejected({ event_type: 'rename', new_path: '/buckets/t/b.txt' })).toMatch(/rename.*old_path/);
  });

  it('validates the old path as strictly as the new one', () => {
    expect(
      rejected({ event_type: 'rename', old_path: '/buckets/t/../x', new_path: '/buckets/t/b.txt' }),
    ).toBe('old_path "/buckets/t/../x" escapes its bucket: ".." segment');
    expect(rejected({ event_type: 'rename', old_path: '/etc/passwd', new_path: '/buckets/t/b.txt' })).toMatch(
      /old_path "\/etc\/passwd" is not under \/buckets/,
    );
    expect(
      rejected({ event_type: 'rename', old_path: '/buckets/t/a.txt', new_path: '/buckets/t/a\u0000' }),
    ).toMatch(/new_path .* control character \(NUL/);
  });

  it('rejects a rename between buckets as a rename across tenants, naming both buckets', () => {
    expect(
      rejected({ event_type: 'rename', old_path: '/buckets/a/x.txt', new_path: '/buckets/b/x.txt' }),
    ).toBe(
      'rename across tenants: old_path "/buckets/a/x.txt" is in bucket "a" but new_path "/buckets/b/x.txt" ' +
        'is in bucket "b"; a rename must stay inside one bucket',
    );
  });

  it.each([
    [
      'old_key as an absolute path into another bucket',
      { bucket: 'a', old_key: '/buckets/b/x.txt', new_key: 'y.txt' },
    ],
    ['from / to in two buckets', { from: '/buckets/b/secret.txt', to: '/buckets/a/mine.txt' }],
    [
      'old_path in another bucket, new path as a key of mine',
      { bucket: 'a', old_path: '/buckets/b/s.txt', key: 'm.txt' },
    ],
    ['a directory moved across buckets', { old_path: '/buckets/b/dir/', new_path: '/buckets/a/dir/' }],
  ])('rejects a rename across tenants: %s', (_what, fields) => {
    expect(rejected({ event_type: 'rename', ...fields })).toMatch(/^rename across tenants: /);
  });

  it("rejects every trick that reaches another bucket from a tenant's path", () => {
    expect(rejected(create({ path: '/buckets/a/../b/uploads/x.txt' }))).toMatch(/escapes its bucket/);
    expect(rejected(create({ bucket: 'a', key: '../b/uploads/x.txt' }))).toMatch(/escapes its bucket/);
    expect(rejected(create({ path: '/buckets/a/%2e%2e/b/x.txt' }))).toMatch(/percent-encoded "\.\."/);
    expect(rejected(create({ path: '/buckets/a/..%2fb%2fx.txt' }))).toMatch(/percent-encoded "\/"/);
    expect(rejected(create({ bucket: 'a', path: '/buckets/b/x.txt' }))).toMatch(/bucket "a" does not match/);
    expect(
      rejected({ event_type: 'rename', bucket: 'a', old_key: 'x.txt', new_path: '/buckets/b/x.txt' }),
    ).toMatch(/^rename across tenants: old_key "x.txt" in bucket "a" is in bucket "a" but new_path/);
  });

  it('ignores a rename onto itself and renames of directories', () => {
    expect(
      ignored({ event_type: 'rename', old_path: '/buckets/t/a.txt', new_path: '/buckets/t/a.txt' }),
    ).toMatch(/itself/);
    expect(
      ignored({ event_type: 'rename', old_path: '/buckets/t/dir/', new_path: '/buckets/t/dir2/' }),
    ).toMatch(/directory/);
  });
});

describe('parseStorageEvent: ignored events', () => {
  it.each([
    ['is_directory', { is_directory: true }],
    ['is_directory (string)', { is_directory: 'true' }],
    ['isDirectory', { isDirectory: true }],
    ['entry.IsDirectory', { entry: { FullPath: '/buckets/t/docs', IsDirectory: true } }],
    [
      'entry.attributes.mode (Go os.ModeDir)',
      { entry: { FullPath: '/buckets/t/docs', attributes: { mode: 2147484141 } } },
    ],
    [
      'entry.attributes.mode (POSIX S_IFDIR)',
      { entry: { FullPath: '/buckets/t/docs', attributes: { mode: 0o40755 } } },
    ],
    [
      'entry.attributes.file_mode (string)',
      { entry: { FullPath: '/buckets/t/docs', attributes: { file_mode: '16877' } } },
    ],
  ])('ignores a directory flagged by %s', (_field, extra) => {
    expect(ignored(create({ path: '/buckets/t/docs', ...extra }))).toMatch(/directory/);
  });

  it('does not mistake a regular file mode for a directory', () => {
    const entry = { FullPath: PDF, attributes: { mode: 0o100644 } };
    expect(eventOf(create({ entry })).path).toBe(PDF);
    expect(eventOf(create({ path: PDF, is_directory: false })).path).toBe(PDF);
  });

  it('ignores a path ending in "/", including a bare bucket', () => {
    expect(ignored(create({ path: '/buckets/t/docs/' }))).toBe('path "/buckets/t/docs/" is a directory');
    expect(ignored(create({ path: '/buckets/t/' }))).toMatch(/directory/);
    expect(ignored({ event_type: 'delete', path: '/buckets/t/docs/sub/' })).toMatch(/directory/);
  });

  it('ignores multipart upload parts under .uploads', () => {
    expect(ignored(create({ path: '/buckets/t/.uploads/4f1c/0001.part' }))).toMatch(
      /multipart upload part.*\.uploads/,
    );
    expect(ignored(create({ bucket: 't', key: '.uploads/4f1c/0001.part', size: 5 }))).toMatch(/multipart/);
  });

  it('still rejects an unsafe directory path rather than ignoring it', () => {
    expect(rejected(create({ path: '/buckets/t/../', is_directory: true }))).toMatch(/\.\./);
  });
});

describe('parseStorageEvent: rejected events', () => {
  it.each([
    ['not JSON', '{"event_type": "create",', /not valid JSON/],
    ['empty', '   ', /empty/],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), /UTF-8/],
    ['an array', '[1,2]', /JSON object, got an array/],
    ['a number', 5, /JSON object, got a number/],
    ['a JSON string', '"hello"', /JSON object, got a string/],
    ['null', 'null', /JSON object, got null/],
    ['undefined', undefined, /JSON object, got nothing/],
  ])('rejects a payload that is %s', (_what, input, reason) => {
    expect(rejected(input)).toMatch(reason);
  });

  it('rejects a missing type, naming the fields it looked for', () => {
    expect(rejected({ path: PDF })).toBe('missing event type: none of event_type, operation, type is set');
  });

  it('rejects an unknown or non-string type, naming field and value', () => {
    expect(rejected({ event_type: 'frobnicate', path: PDF })).toMatch(
      /^unknown event type "frobnicate" in event_type/,
    );
    expect(rejected({ operation: 'copy', path: PDF })).toMatch(/"copy" in operation/);
    expect(rejected({ type: 3, path: PDF })).toBe('type must be a string, got 3');
  });

  it('rejects a missing or empty path', () => {
    expect(rejected({ event_type: 'create' })).toBe('missing path: none of path, key, entry.FullPath is set');
    expect(rejected(create({ path: '' }))).toMatch(/path must be a non-empty string, got ""/);
    expect(rejected(create({ path: 42 }))).toMatch(/path must be a non-empty string, got 42/);
  });

  it('rejects paths that are not under /buckets/{tenant}/', () => {
    expect(rejected(create({ path: '/etc/passwd' }))).toBe(
      'path "/etc/passwd" is not under /buckets/{tenant}/',
    );
    // 'buckets/t/a.pdf' (no leading slash) is accepted since issue 9: see "every producer shape".
    expect(rejected(create({ path: '/bucketsx/t/a.pdf' }))).toMatch(/not under \/buckets/);
    expect(rejected(create({ path: 'uploads/a.pdf' }))).toMatch(/"uploads\/a.pdf" is not under/);
  });

  it('rejects a bucket-relative key without a bucket, or an absolute key outside /buckets', () => {
    expect(rejected(create({ key: 'uploads/a.pdf' }))).toMatch(/key "uploads\/a.pdf" .*no "bucket" field/);
    expect(rejected(create({ bucket: 't', key: '/etc/passwd' }))).toMatch(/key "\/etc\/passwd" is absolute/);
  });

  it('rejects a bucket field that disagrees with the path', () => {
    expect(rejected(create({ path: PDF, bucket: 'other' }))).toMatch(
      /bucket "other" does not match.*"tenant-test"/,
    );
  });

  it('rejects ".." and "." segments anywhere', () => {
    expect(rejected(create({ path: '/buckets/t/../etc/passwd' }))).toBe(
      'path "/buckets/t/../etc/passwd" escapes its bucket: ".." segment',
    );
    expect(rejected(create({ path: '/buckets/../etc/passwd' }))).toMatch(/".." segment/);
    expect(rejected(create({ path: '/buckets/t/docs/..' }))).toMatch(/".." segment/);
    expect(rejected(create({ path: '/buckets/t/./a.pdf' }))).toMatch(/"\." segment/);
    expect(rejected(create({ bucket: 't', key: '../x.pdf' }))).toMatch(
      /key "..\/x.pdf" in bucket "t" escapes/,
    );
    expect(rejected(create({ entry: { FullPath: '/buckets/t/a/../../b' } }))).toMatch(/^entry.FullPath /);
  });

  it('rejects NUL and other control characters, naming the character', () => {
    expect(rejected(create({ path: '/buckets/t/a.pdf\u0000.txt' }))).toBe(
      'path "/buckets/t/a.pdf\\u0000.txt" contains a control character (NUL, U+0000)',
    );
    expect(rejected(create({ path: '/buckets/t/a\nb.pdf' }))).toMatch(/control character \(U\+000A\)/);
    expect(rejected(create({ path: '/buckets/t/a\u007fb.pdf' }))).toMatch(/control character \(U\+007F\)/);
  });

  it('rejects backslashes', () => {
    expect(rejected(create({ path: '/buckets/t/..\\..\\etc' }))).toMatch(/backslash/);
    expect(rejected(create({ path: '/buckets/t/a\\b.pdf' }))).toMatch(
      /^path "\/buckets\/t\/a\\\\b.pdf" contains a backslash/,
    );
  });

  it('rejects empty segments', () => {
    expect(rejected(create({ path: '/buckets/t//a.pdf' }))).toBe(
      'path "/buckets/t//a.pdf" has an empty segment ("//")',
    );
    expect(rejected(create({ path: '//buckets/t/a.pdf' }))).toMatch(/empty segment/);
    expect(rejected(create({ path: '/buckets//a.pdf' }))).toMatch(/empty segment/);
    expect(rejected(create({ path: '/buckets/t/docs//' }))).toMatch(/empty segment/);
  });

  it('rejects a path naming only the bucket, or no bucket', () => {
    expect(rejected(create({ path: '/buckets/t' }))).toBe(
      'path "/buckets/t" names only the bucket "t", not a file',
    );
    expect(rejected(create({ path: '/buckets' }))).toMatch(/names no bucket/);
  });

  it.each([
    ['%2e%2e', '/buckets/t/%2e%2e/etc/passwd', /percent-encoded "\.\." segment/],
    ['%2E%2E', '/buckets/t/docs/%2E%2E', /percent-encoded "\.\." segment/],
    ['mixed .%2e', '/buckets/t/.%2e/x', /percent-encoded "\.\." segment/],
    ['%2e', '/buckets/t/%2e/x.pdf', /percent-encoded "\." segment/],
    ['%2f', '/buckets/t/..%2f..%2fetc', /percent-encoded "\/" \(%2F\)/],
    ['%2F', '/buckets/t/a%2Fb.pdf', /percent-encoded "\/"/],
    ['%00', '/buckets/t/a.pdf%00.txt', /percent-encoded control character \(NUL/],
    ['%0a', '/buckets/t/a%0a.pdf', /percent-encoded control character \(U\+000A\)/],
    ['%5c', '/buckets/t/..%5c..%5cetc', /percent-encoded backslash/],
  ])('rejects percent-encoded traversal (%s)', (_what, path, reason) => {
    const reason_ = rejected(create({ path }));
    expect(reason_).toMatch(reason);
    expect(reason_).toContain(JSON.stringify(path));
  });

  it('decodes only once: a double-encoded dot is a literal name', () => {
    expect(eventOf(create({ path: '/buckets/t/%252e%252e/a.pdf' })).key).toBe('%252e%252e/a.pdf');
  });

  it.each([
    ['uppercase', 'Tenant'],
    ['a space', 'my tenant'],
    ['too long', 'a'.repeat(64)],
    ['unicode', 'tënant'],
    ['a colon', 't:1'],
  ])('rejects a bucket name with %s', (_what, bucket) => {
    expect(rejected(create({ path: `/buckets/${bucket}/a.pdf` }))).toMatch(
      new RegExp(
        `invalid bucket \\(tenant\\) name ${JSON.stringify(bucket).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
    );
  });

  it('rejects keys longer than S3 allows', () => {
    expect(rejected(create({ path: `/buckets/t/${'a'.repeat(1025)}` }))).toMatch(
      /1025 bytes; S3 keys are at most 1024/,
    );
    expect(eventOf(create({ path: `/buckets/t/${'a'.repeat(1024)}` })).key).toHaveLength(1024);
  });

  it.each([
    ['size', { size: -1 }, '-1'],
    ['size', { size: '-5' }, '"-5"'],
    ['file_size', { file_size: 'abc' }, '"abc"'],
    ['size', { size: 1.5 }, '1.5'],
    ['size', { size: '1.5' }, '"1.5"'],
    ['size', { size: '' }, '""'],
    ['size', { size: '1e3' }, '"1e3"'],
    ['size', { size: Number.NaN }, 'NaN'],
    ['size', { size: 2 ** 60 }, String(2 ** 60)],
    ['size', { size: true }, 'true'],
    ['entry.Size', { entry: { FullPath: PDF, Size: {} } }, 'an object'],
    ['entry.attributes.file_size', { entry: { FullPath: PDF, attributes: { file_size: '-3' } } }, '"-3"'],
  ])('rejects a bad size in %s (%j)', (field, extra, shown) => {
    expect(rejected(create({ path: PDF, ...extra }))).toBe(
      `size field ${field} must be a non-negative integer number of bytes, got ${shown}`,
    );
  });

  it('rejects a mime type that is not a plain string', () => {
    expect(rejected(create({ path: PDF, mime_type: 5 }))).toMatch(/mime type field mime_type .* got 5/);
    expect(rejected(create({ path: PDF, content_type: 'text/plain\r\nX: y' }))).toMatch(/content_type/);
  });

  it('rejects a version that is not a usable string or number', () => {
    expect(rejected(create({ path: PDF, etag: {} }))).toMatch(/version field etag .* got an object/);
    expect(rejected(create({ path: PDF, mtime: Number.POSITIVE_INFINITY }))).toMatch(/version field mtime/);
    expect(rejected(create({ path: PDF, version: 'a\u0000' }))).toMatch(/version field version/);
    expect(rejected(create({ path: PDF, sequence: 'x'.repeat(201) }))).toMatch(/sequence is 201 characters/);
  });

  it('never throws, whatever it is given', () => {
    const inputs: unknown[] = [
      Symbol('x'),
      () => 1,
      new Uint8Array(),
      { event_type: 'create', entry: 'not an object' },
      { event_type: 'create', entry: [] },
      { event_type: {}, path: PDF },
      Object.create(null),
    ];
    for (const input of inputs) expect(['reject', 'ignore']).toContain(parseStorageEvent(input).kind);
  });

  it('does not read inherited properties', () => {
    const input = Object.create({ event_type: 'create', path: PDF });
    expect(rejected(input)).toMatch(/missing event type/);
  });
});

describe('parseStorageEvent: reserved buckets are never tenants', () => {
  const reserved = { reservedBuckets: ['derived-data'] };
  const rejectedWith = (input: unknown) => {
    const outcome = parseStorageEvent(input, reserved);
    if (outcome.kind !== 'reject') throw new Error(`expected reject, got ${JSON.stringify(outcome)}`);
    return outcome.reason;
  };

  it('rejects the configured derived-data bucket, naming it', () => {
    expect(rejectedWith(create({ path: '/buckets/derived-data/t1/abc/v1/extracted.json' }))).toBe(
      'path "/buckets/derived-data/t1/abc/v1/extracted.json" is in the reserved bucket "derived-data", ' +
        'which is not a tenant: the derived-data bucket and every bucket starting with "p8fs-" belong to P8FS itself',
    );
    expect(
      rejectedWith({ event_type: 'delete', bucket: 'derived-data', key: 't1/abc/v1/chunks.json' }),
    ).toMatch(/reserved bucket "derived-data"/);
  });

  it('rejects every p8fs- bucket, even when the caller passes no reserved names', () => {
    for (const bucket of ['p8fs-derived', 'p8fs-anything', 'p8fs-']) {
      expect(rejected(create({ path: `/buckets/${bucket}/t1/x.json` }))).toMatch(
        new RegExp(`reserved bucket "${bucket}"`),
      );
    }
    expect(isReservedBucket('p8fs-derived')).toBe(true);
    expect(isReservedBucket('derived-data', ['derived-data'])).toBe(true);
    expect(isReservedBucket('p8fs', ['derived-data'])).toBe(false);
    expect(isReservedBucket('tenant-p8fs-x')).toBe(false);
    expect(RESERVED_BUCKET_PREFIX).toBe('p8fs-');
  });

  it('rejects rather than ignores directories, multipart parts and renames touching a reserved bucket', () => {
    expect(rejectedWith(create({ path: '/buckets/derived-data/t1/', is_directory: true }))).toMatch(
      /reserved/,
    );
    expect(rejectedWith(create({ path: '/buckets/p8fs-derived/.uploads/1/0001.part' }))).toMatch(/reserved/);
    expect(
      rejectedWith({
        event_type: 'rename',
        old_path: '/buckets/derived-data/t1/x',
        new_path: '/buckets/t1/x',
      }),
    ).toMatch(/^old_path .* reserved bucket "derived-data"/);
    expect(
      rejectedWith({
        event_type: 'rename',
        old_path: '/buckets/t1/x',
        new_path: '/buckets/p8fs-derived/t1/x',
      }),
    ).toMatch(/^new_path .* reserved bucket "p8fs-derived"/);
  });

  it('still accepts tenant buckets that merely contain the words', () => {
    expect(eventOf(create({ path: '/buckets/tenant-p8fs-derived/a.txt' })).tenantId).toBe(
      'tenant-p8fs-derived',
    );
    expect(parseStorageEvent(create({ path: '/buckets/derived/a.txt' }), reserved).kind).toBe('event');
  });
});

describe('parseStorageEvent: input that names Object.prototype members', () => {
  const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
  for (const field of ['event_type', 'operation', 'type']) {
    it.each(NAMES)(`rejects ${field} %s as an unknown event type`, (name) => {
      const reason = rejected({ [field]: name, path: PDF });
      expect(reason).toMatch(new RegExp(`^unknown event type "${name}" in ${field}; expected create`));
    });
  }

  it('rejects them in any case and with spaces, and does not list them as aliases', () => {
    expect(rejected({ event_type: ' Constructor ', path: PDF })).toMatch(/unknown event type/);
    expect(rejected({ event_type: 'TOSTRING', path: PDF })).toMatch(/unknown event type/);
    expect(rejected({ event_type: 'nope', path: PDF })).toMatch(
      /\(aliases: create, created, put, upload, uploaded, update, .*moved\)$/,
    );
  });

  it('does not read fields through __proto__ or constructor keys of the payload', () => {
    expect(rejected(`{"__proto__": {"event_type": "create"}, "path": "${PDF}"}`)).toMatch(
      /missing event type/,
    );
    expect(rejected(`{"event_type": "create", "__proto__": {"path": "${PDF}"}}`)).toMatch(/missing path/);
    expect(eventOf(`{"event_type": "create", "path": "${PDF}", "constructor": 1, "__proto__": 2}`).path).toBe(
      PDF,
    );
  });
});

describe('parseStorageEvent: text that cannot be valid UTF-8, and bounded mime types', () => {
  it('rejects a path with an unpaired surrogate (JSON "\\ud800"), naming it', () => {
    expect(rejected('{"event_type":"create","path":"/buckets/t/a\\ud800b.txt"}')).toBe(
      'path "/buckets/t/a\\ud800b.txt" contains an unpaired surrogate (U+D800), which is not valid UTF-8',
    );
    expect(
      rejected({ event_type: 'rename', old_path: '/buckets/t/\udc00', new_path: '/buckets/t/b.txt' }),
    ).toMatch(/^old_path .* unpaired surrogate \(U\+DC00\)/);
    // A well-formed pair (an emoji) is fine.
    expect(eventOf(create({ path: '/buckets/t/\ud83d\ude00.txt' })).fileName).toBe('😀.txt');
  });

  it('rejects a mime type or version with an unpaired surrogate', () => {
    expect(rejected(create({ path: PDF, mime_type: 'text/\ud800' }))).toMatch(/mime type field mime_type/);
    expect(rejected(create({ path: PDF, etag: 'e\udfff' }))).toMatch(/version field etag/);
  });

  it(`rejects a mime type longer than ${MAX_MIME_TYPE_CHARS} characters, and keeps one that fits`, () => {
    const long = `text/plain; note=${'x'.repeat(2048)}`;
    expect(rejected(create({ path: PDF, content_type: long }))).toBe(
      `mime type field content_type is ${long.length} characters long; at most ${MAX_MIME_TYPE_CHARS} allowed`,
    );
    const fits = `application/${'x'.repeat(MAX_MIME_TYPE_CHARS - 'application/'.length)}`;
    expect(eventOf(create({ path: PDF, mime_type: fits })).mimeType).toBe(fits);
  });

  it('bounds a mime type from elsewhere (S3): kept, cut to its bare type, or dropped', () => {
    expect(boundedMimeType('text/plain; charset=utf-8')).toBe('text/plain; charset=utf-8');
    expect(boundedMimeType(`text/plain; note=${'x'.repeat(2048)}`)).toBe('text/plain');
    expect(boundedMimeType(`application/${'x'.repeat(2048)}`)).toBeUndefined();
    expect(boundedMimeType(`${'garbage '.repeat(300)}`)).toBeUndefined();
    expect(boundedMimeType('text/plain\r\nX-Evil: 1')).toBeUndefined();
    expect(boundedMimeType('  ')).toBeUndefined();
    expect(boundedMimeType(undefined)).toBeUndefined();
  });
});

describe('parseStorageEvent: ignore categories', () => {
  const categoryOf = (input: unknown) => {
    const outcome = parseStorageEvent(input);
    if (outcome.kind !== 'ignore') throw new Error(`expected ignore, got ${JSON.stringify(outcome)}`);
    return outcome.category;
  };

  it('names the category of every ignored event', () => {
    expect(categoryOf(create({ path: '/buckets/t/docs/' }))).toBe('directory');
    expect(categoryOf(create({ path: '/buckets/t/docs', is_directory: true }))).toBe('directory');
    expect(categoryOf(create({ path: '/buckets/t/.uploads/1/0001.part' }))).toBe('multipart-part');
    expect(categoryOf({ event_type: 'rename', old_path: '/buckets/t/a', new_path: '/buckets/t/a' })).toBe(
      'rename-to-itself',
    );
    expect(IGNORE_CATEGORIES).toEqual(['directory', 'multipart-part', 'rename-to-itself']);
  });
});

describe('tierForSize', () => {
  const thresholds = { smallMaxBytes: 100 * MiB, mediumMaxBytes: GiB };

  it.each([
    [0, 'small'],
    [100 * MiB, 'small'],
    [100 * MiB + 1, 'medium'],
    [GiB, 'medium'],
    [GiB + 1, 'large'],
    [50 * GiB, 'large'],
  ])('puts %d bytes in the %s tier', (size, tier) => {
    expect(tierForSize(size, thresholds)).toBe(tier);
  });

  it('follows configured thresholds', () => {
    expect(tierForSize(11, { smallMaxBytes: 10, mediumMaxBytes: 20 })).toBe('medium');
    expect(tierForSize(21, { smallMaxBytes: 10, mediumMaxBytes: 20 })).toBe('large');
  });

  it('refuses sizes that cannot be byte counts', () => {
    expect(() => tierForSize(-1, thresholds)).toThrow(RangeError);
    expect(() => tierForSize(1.5, thresholds)).toThrow(/non-negative integer/);
  });
});

describe('p8fs event check', () => {
  interface Captured {
    out: string[];
    err: string[];
  }

  async function check(
    args: string[],
    files: Record<string, string>,
    stdin = '',
  ): Promise<Captured & { code: unknown }> {
    const captured: Captured = { out: [], err: [] };
    const io: EventCheckIo = {
      out: (line) => captured.out.push(line),
      err: (line) => captured.err.push(line),
      readFile: async (path) => {
        const text = files[path];
        if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
        return new TextEncoder().encode(text);
      },
      readStdin: async () => new TextEncoder().encode(stdin),
      tiers: () => ({ smallMaxBytes: 100 * MiB, mediumMaxBytes: GiB }),
    };
    const program = new Command('p8fs').exitOverride();
    registerEventCommands(program, io);
    process.exitCode = undefined;
    await program.parseAsync(['event', 'check', ...args], { from: 'user' });
    return { ...captured, code: process.exitCode };
  }

  afterEach(() => {
    process.exitCode = undefined;
  });

  const example = `{"event_type":"create","path":"${PDF}","size":840059,"mime_type":"application/pdf"}`;

  it("prints the normalised shape of another producer's event (no leading slash, string size, epoch ms)", async () => {
    const other =
      '{"operation":"put","key":"buckets/tenant-test/uploads/r.pdf","file_size":"1234","mtime":1700000000500}';
    const result = await check(['other.json'], { 'other.json': other });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out[0] ?? '')).toMatchObject({
      type: 'create',
      path: '/buckets/tenant-test/uploads/r.pdf',
      size: 1234,
      modifiedAt: '2023-11-14T22:13:20.500Z',
    });
  });

  it('prints the normalised event, its tier and its workflow id', async () => {
    const result = await check(['event.json'], { 'event.json': example });
    expect(result.code).toBe(0);
    expect(result.err).toEqual([]);
    expect(JSON.parse(result.out[0] ?? '')).toMatchObject({
      type: 'create',
      tenantId: 'tenant-test',
      size: 840059,
    });
    expect(result.out).toContain('tier: small');
    expect(result.out.find((line) => line.startsWith('workflow id: '))).toMatch(
      /^workflow id: ingest-create\/tenant-test\/uploads\/report.pdf@[0-9a-f]{16}$/,
    );
  });

  it('reads stdin for "-" and when no file is given', async () => {
    for (const args of [['-'], []]) {
      const result = await check(args, {}, example);
      expect(result.code).toBe(0);
      expect(result.out).toContain('tier: small');
    }
  });

  it('explains that the tier waits for S3 when the event has no size', async () => {
    const result = await check([], {}, `{"event_type":"create","path":"${PDF}"}`);
    expect(result.out).toContain("tier: decided at routing time from the object's size in S3");
  });

  it('reports a rejected event on stderr with exit code 1', async () => {
    const result = await check([], {}, '{"event_type":"create","path":"/buckets/t/../etc/passwd"}');
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.err).toEqual([
      'rejected: path "/buckets/t/../etc/passwd" escapes its bucket: ".." segment',
    ]);
  });

  it('reports an ignored event on stderr with exit code 0', async () => {
    const result = await check([], {}, '{"event_type":"create","path":"/buckets/t/docs/"}');
    expect(result.code).toBe(0);
    expect(result.err).toEqual(['ignored: path "/buckets/t/docs/" is a directory']);
  });

  it('rejects an event under the derived-data bucket, as the bridge does', async () => {
    const result = await check(
      [],
      {},
      '{"event_type":"create","path":"/buckets/p8fs-derived/t/x/extracted.json"}',
    );
    expect(result.code).toBe(1);
    expect(result.err).toEqual([expect.stringMatching(/^rejected: path .* reserved bucket "p8fs-derived"/)]);
  });

  it('names a file it cannot read', async () => {
    const result = await check(['missing.json'], {});
    expect(result.code).toBe(1);
    expect(result.err).toEqual(['cannot read event file "missing.json": no such file']);
  });
});

describe('parseStorageEvent: every producer shape (issue 9)', () => {
  it.each([
    ['path', { path: 'buckets/tenant-test/uploads/report.pdf' }],
    ['entry.FullPath', { entry: { FullPath: 'buckets/tenant-test/uploads/report.pdf' } }],
    ['key without a bucket field', { key: 'buckets/tenant-test/uploads/report.pdf' }],
  ])('accepts a %s without the leading slash', (_shape, extra) => {
    expect(eventOf(create(extra))).toMatchObject({
      path: PDF,
      tenantId: 'tenant-test',
      key: 'uploads/report.pdf',
    });
  });

  it('a key that starts with buckets/ inside a named bucket stays a key of that bucket', () => {
    expect(eventOf(create({ bucket: 'tenant-test', key: 'buckets/report.pdf' }))).toMatchObject({
      path: '/buckets/tenant-test/buckets/report.pdf',
    });
  });

  it('accepts renames whose paths lack the leading slash', () => {
    expect(
      eventOf({
        event_type: 'rename',
        old_path: 'buckets/tenant-test/uploads/old.pdf',
        new_path: 'buckets/tenant-test/uploads/new.pdf',
      }),
    ).toMatchObject({
      path: '/buckets/tenant-test/uploads/new.pdf',
      oldPath: '/buckets/tenant-test/uploads/old.pdf',
    });
  });

  it.each([
    ['ISO string', '2024-06-10T06:13:20Z'],
    ['epoch seconds', 1718000000],
    ['epoch ms', 1718000000123],
    ['epoch seconds, float', 1718000000.25],
    ['epoch seconds, numeric string', '1718000000'],
    ['epoch ms, numeric string', '1718000000123'],
    ['epoch seconds, float string', '1718000000.25'],
  ])('accepts an mtime as %s and keeps it beside the version', (_shape, mtime) => {
    expect(eventOf(create({ path: PDF, mtime })).mtime).toBe(String(mtime));
  });

  it.each([
    ['ISO string', '2024-06-10T06:13:20Z', '2024-06-10T06:13:20.000Z'],
    ['ISO string with offset', '2024-06-10T08:13:20+02:00', '2024-06-10T06:13:20.000Z'],
    ['epoch seconds', 1718000000, '2024-06-10T06:13:20.000Z'],
    ['epoch ms', 1718000000123, '2024-06-10T06:13:20.123Z'],
    ['epoch seconds, float', 1718000000.25, '2024-06-10T06:13:20.250Z'],
    ['epoch seconds, numeric string', '1718000000', '2024-06-10T06:13:20.000Z'],
    ['epoch ms, numeric string', '1718000000123', '2024-06-10T06:13:20.123Z'],
    ['epoch seconds, float string', ' 1718000000.25 ', '2024-06-10T06:13:20.250Z'],
    ['epoch ns (SeaweedFS ts_ns)', '1718000000123456789', '2024-06-10T06:13:20.123Z'],
  ])('normalises an mtime given as %s to modifiedAt (ISO 8601 UTC)', (_shape, mtime, iso) => {
    const event = eventOf(create({ path: PDF, mtime }));
    expect(event.modifiedAt).toBe(iso);
    // The raw value still drives versions, so workflow ids are the same as before normalising.
    expect(event.mtime).toBe(String(mtime).trim());
  });

  it("reads modifiedAt from other producers' fields too, and leaves it unset for what is no time", () => {
    expect(eventOf(create({ path: PDF, timestamp: 1718000000 })).modifiedAt).toBe('2024-06-10T06:13:20.000Z');
    expect(eventOf(create({ path: PDF, last_modified: 'Mon, 10 Jun 2024 06:13:20 GMT' })).modifiedAt).toBe(
      '2024-06-10T06:13:20.000Z',
    );
    const odd = eventOf(create({ path: PDF, mtime: 'yesterday-ish' }));
    expect(odd.modifiedAt).toBeUndefined();
    expect(odd.mtime).toBe('yesterday-ish');
    expect(eventOf(create({ path: PDF, mtime: -5 })).modifiedAt).toBeUndefined();
  });

  it.each([
    [12, 12],
    ['12', 12],
    [' 12 ', 12],
    ['0', 0],
  ])('accepts the size %j', (size, expected) => {
    expect(eventOf(create({ path: PDF, size })).size).toBe(expected);
  });

  it('accepts what the filer subscriber publishes (size, mime, ISO mtime, etag, md5, extra fields)', () => {
    const event = eventOf({
      event_type: 'create',
      path: PDF,
      size: 5242884,
      mime_type: 'application/pdf',
      mtime: '2026-11-30T05:33:40.000Z',
      etag: '1b5586dcc4c977ad9eb82c917af59a83-2',
      source: 'seaweedfs-filer',
      filer_ts_ns: '1796016820436456159',
    });
    expect(event).toMatchObject({
      size: 5242884,
      mimeType: 'application/pdf',
      version: '1b5586dcc4c977ad9eb82c917af59a83-2',
      mtime: '2026-11-30T05:33:40.000Z',
    });
  });
});
