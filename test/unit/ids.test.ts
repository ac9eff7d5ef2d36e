import { describe, expect, it } from 'vitest';
import {
  embeddingIdFor,
  eventVersion,
  fileIdFor,
  ingestWorkflowId,
  legacyFileIdFor,
  legacyResourceIdFor,
  NAMESPACE_DNS,
  originalFilePath,
  P8FS_NAMESPACE,
  resourceIdFor,
  storedObjectVersion,
  uuidV5,
} from '../../src/domain/ids.js';
import { parseStorageEvent, type StorageEvent } from '../../src/domain/storage-event.js';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
const V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function eventOf(input: unknown): StorageEvent {
  const outcome = parseStorageEvent(input);
  if (outcome.kind !== 'event') throw new Error(`expected an event, got ${outcome.kind}: ${outcome.reason}`);
  return outcome.event;
}

const report = eventOf({
  event_type: 'create',
  path: '/buckets/tenant-test/uploads/report.pdf',
  size: 840059,
  mime_type: 'application/pdf',
});

describe('uuidV5', () => {
  it('matches RFC 4122 / Python uuid.uuid5 vectors', () => {
    expect(uuidV5('www.example.com', DNS_NAMESPACE)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(uuidV5('python.org', DNS_NAMESPACE)).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('hashes names as UTF-8 and accepts an uppercase namespace', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_URL, 'https://p8fs.dev/flows')
    expect(uuidV5('https://p8fs.dev/flows', URL_NAMESPACE.toUpperCase())).toBe(P8FS_NAMESPACE);
    expect(uuidV5('résumé', DNS_NAMESPACE)).toMatch(V5);
    expect(uuidV5('résumé', DNS_NAMESPACE)).not.toBe(uuidV5('resume', DNS_NAMESPACE));
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(/namespace must be a UUID, got "not-a-uuid"/);
  });
});

describe('file and resource ids', () => {
  it('derives the project namespace from a documented name', () => {
    expect(P8FS_NAMESPACE).toBe('0152e560-2ec0-5b3b-a8c2-e53404e79c76');
  });

  it('are the original P8FS ids: uuid5(NAMESPACE_DNS, tenant:key) and uuid5(NAMESPACE_DNS, file:chunk:i)', () => {
    expect(NAMESPACE_DNS).toBe(DNS_NAMESPACE);
    expect(originalFilePath('tenant-test', report.path)).toBe('uploads/report.pdf');
    const fileId = fileIdFor('tenant-test', report.path);
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'tenant-test:uploads/report.pdf')
    expect(fileId).toBe('75153256-589b-5c6e-a770-5ce5eba44818');
    expect(fileIdFor('tenant-test', report.path)).toBe(fileId);
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, f'{file_id}:chunk:0')
    expect(resourceIdFor(fileId, 0)).toBe('67e7f2ab-60eb-5e9d-aa39-cb611cc171fe');
    expect(fileIdFor('tenant-test', '/buckets/tenant-test/test/Sample.md')).toBe(
      '8a42d353-796e-5ead-895f-4bc57eef88c6',
    );
  });

  it("name a vector as the original P8FS does: uuid5(NAMESPACE_DNS, 'entity:field:provider')", () => {
    const entity = '11111111-1111-1111-1111-111111111111';
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, f'{entity}:content:all-MiniLM-L6-v2')
    expect(embeddingIdFor(entity, 'content', 'all-MiniLM-L6-v2')).toBe(
      '745d8dc0-5097-5f3a-8f97-d019244e4603',
    );
    expect(embeddingIdFor(entity, 'content', 'text-embedding-3-small')).not.toBe(
      embeddingIdFor(entity, 'content', 'all-MiniLM-L6-v2'),
    );
  });

  it('keep the recipe of earlier releases for re-keying', () => {
    const legacy = legacyFileIdFor('tenant-test', report.path);
    // Python: uuid.uuid5(P8FS_NAMESPACE, 'tenant-test:/buckets/tenant-test/uploads/report.pdf')
    expect(legacy).toBe('5236d539-3e20-5bed-8b87-427ee881ebf0');
    expect(legacyResourceIdFor(legacy, 0)).toBe(uuidV5(`${legacy}:0`, P8FS_NAMESPACE));
    expect(legacy).not.toBe(fileIdFor('tenant-test', report.path));
  });

  it('keep a path outside the tenant bucket whole', () => {
    expect(originalFilePath('a', '/buckets/b/x.txt')).toBe('/buckets/b/x.txt');
    expect(originalFilePath('a', '/buckets/a/x/y.txt')).toBe('x/y.txt');
  });

  it('differ by tenant, path and ordinal', () => {
    const fileId = fileIdFor('a', '/buckets/a/x.txt');
    expect(fileIdFor('b', '/buckets/a/x.txt')).not.toBe(fileId);
    expect(fileIdFor('a', '/buckets/a/y.txt')).not.toBe(fileId);
    const ordinals = new Set([0, 1, 2, 10, 11].map((ordinal) => resourceIdFor(fileId, ordinal)));
    expect(ordinals.size).toBe(5);
  });
});

describe('eventVersion', () => {
  it('uses the producer version when present', () => {
    expect(eventVersion({ ...report, version: 'etag-1' })).toBe('etag-1');
  });

  it('digests the event when no version was sent, identically for a duplicate', () => {
    const version = eventVersion(report);
    expect(version).toMatch(/^[0-9a-f]{16}$/);
    const again = eventOf(
      '{"mime_type":"application/pdf","size":"840059","path":"/buckets/tenant-test/uploads/report.pdf","event_type":"PUT"}',
    );
    expect(eventVersion(again)).toBe(version);
  });

  it('ignores key order and optional fields left undefined', () => {
    const { size, mimeType, ...rest } = report;
    const reordered: StorageEvent = { mimeType, size, ...rest, oldPath: undefined };
    expect(eventVersion(reordered)).toBe(eventVersion(report));
  });

  it('changes when what the event says changes', () => {
    const version = eventVersion(report);
    expect(eventVersion({ ...report, size: 1 })).not.toBe(version);
    expect(eventVersion({ ...report, mimeType: 'text/plain' })).not.toBe(version);
    expect(eventVersion({ ...report, type: 'update' })).not.toBe(version);
    expect(eventVersion({ ...report, path: '/buckets/tenant-test/uploads/other.pdf' })).not.toBe(version);
    expect(eventVersion({ ...report, oldPath: '/buckets/tenant-test/x.pdf' })).not.toBe(version);
  });
});

describe('eventVersion: content identity before a modification time', () => {
  it('prefers the content version over the mtime, and the mtime over the digest', () => {
    expect(eventVersion({ ...report, version: 'etag-1', mtime: '1718000000' })).toBe('etag-1');
    expect(eventVersion({ ...report, mtime: '1718000000' })).toBe('1718000000');
    expect(eventVersion({ ...report, version: '', mtime: '' })).toBe(eventVersion(report));
  });

  it('an event with both an etag and an mtime takes the etag (the mtime no longer wins)', () => {
    const event = eventOf({ event_type: 'update', path: report.path, mtime: 1718000000, etag: '"abc"' });
    expect(eventVersion(event)).toBe('abc');
  });
});

describe('storedObjectVersion', () => {
  const second = new Date('2026-06-01T12:00:00.000Z');

  it('is the etag plus Last-Modified in ms, as S3 reports them', () => {
    expect(storedObjectVersion({ etag: '5d41402abc4b2a76b9719d911017c592', lastModified: second })).toBe(
      `5d41402abc4b2a76b9719d911017c592-${second.getTime()}`,
    );
    expect(storedObjectVersion({ etag: '"quoted"', lastModified: second })).toBe(
      `quoted-${second.getTime()}`,
    );
  });

  it('tells two saves within the same second apart by their content', () => {
    const v1 = storedObjectVersion({ etag: 'aaa', lastModified: second });
    const v2 = storedObjectVersion({ etag: 'bbb', lastModified: second });
    expect(v1).not.toBe(v2);
    const sameMtime = { ...report, type: 'update' as const, mtime: String(second.getTime() / 1000) };
    expect(ingestWorkflowId({ ...sameMtime, version: v1 })).not.toBe(
      ingestWorkflowId({ ...sameMtime, version: v2 }),
    );
  });

  it('tells the same bytes uploaded again later apart by Last-Modified', () => {
    const later = new Date(second.getTime() + 1000);
    expect(storedObjectVersion({ etag: 'aaa', lastModified: second })).not.toBe(
      storedObjectVersion({ etag: 'aaa', lastModified: later }),
    );
  });

  it('is the etag alone without a usable Last-Modified, and undefined without an etag', () => {
    expect(storedObjectVersion({ etag: 'aaa' })).toBe('aaa');
    expect(storedObjectVersion({ etag: 'aaa', lastModified: new Date(Number.NaN) })).toBe('aaa');
    expect(storedObjectVersion({ lastModified: second })).toBeUndefined();
    expect(storedObjectVersion({ etag: '' })).toBeUndefined();
  });
});

describe('ingestWorkflowId', () => {
  it('is readable and deterministic', () => {
    const withVersion = { ...report, version: '1718000000' };
    expect(ingestWorkflowId(withVersion)).toBe('ingest-create/tenant-test/uploads/report.pdf@1718000000');
    expect(ingestWorkflowId(report)).toBe(
      `ingest-create/tenant-test/uploads/report.pdf@${eventVersion(report)}`,
    );
    expect(ingestWorkflowId(report)).toBe(ingestWorkflowId({ ...report }));
  });

  it('gives delete and rename events ids distinct from the create of the same path', () => {
    const version = { version: '7' };
    const ids = new Set([
      ingestWorkflowId({ ...report, ...version }),
      ingestWorkflowId({ ...report, ...version, type: 'update' }),
      ingestWorkflowId({ ...report, ...version, type: 'delete' }),
      ingestWorkflowId({ ...report, ...version, type: 'rename', oldPath: '/buckets/tenant-test/a.pdf' }),
    ]);
    expect(ids.size).toBe(4);
  });

  it('differs by tenant and by version', () => {
    const other = eventOf({ event_type: 'create', path: '/buckets/other/uploads/report.pdf', size: 840059 });
    expect(ingestWorkflowId(other)).not.toBe(ingestWorkflowId(report));
    expect(ingestWorkflowId({ ...report, version: '1' })).not.toBe(
      ingestWorkflowId({ ...report, version: '2' }),
    );
  });

  it('hashes a long key but keeps the file name', () => {
    const key = `${'deep/'.repeat(80)}report.pdf`;
    const event = eventOf({ event_type: 'create', path: `/buckets/t/${key}`, etag: 'e1' });
    const id = ingestWorkflowId(event);
    expect(id).toMatch(/^ingest-create\/t\/[0-9a-f]{32}\/report\.pdf@e1$/);
    expect(id.length).toBeLessThanOrEqual(400);
    expect(ingestWorkflowId(event)).toBe(id);
    const sibling = eventOf({ event_type: 'create', path: `/buckets/t/x${key}`, etag: 'e1' });
    expect(ingestWorkflowId(sibling)).not.toBe(id);
  });

  it('keeps a key that fits exactly, and measures length in UTF-8 bytes', () => {
    const fits = eventOf({
      event_type: 'create',
      path: `/buckets/t/${'a'.repeat(400 - 'ingest-create/t/@v'.length)}`,
      etag: 'v',
    });
    expect(ingestWorkflowId(fits)).toHaveLength(400);
    expect(ingestWorkflowId(fits)).toContain(fits.key);
    const wide = eventOf({ event_type: 'create', path: `/buckets/t/${'é'.repeat(300)}`, etag: 'v' });
    expect(Buffer.byteLength(ingestWorkflowId(wide))).toBeLessThanOrEqual(400);
  });

  it('drops a file name too long to keep', () => {
    const event = eventOf({ event_type: 'create', path: `/buckets/t/docs/${'n'.repeat(600)}`, etag: 'e1' });
    expect(ingestWorkflowId(event)).toMatch(/^ingest-create\/t\/[0-9a-f]{32}@e1$/);
  });

  it('hashes a version too long to keep', () => {
    const event: StorageEvent = { ...report, version: 'v'.repeat(500) };
    const id = ingestWorkflowId(event);
    expect(id).toMatch(/^ingest-create\/tenant-test\/[0-9a-f]{32}@[0-9a-f]{32}$/);
    expect(ingestWorkflowId({ ...event })).toBe(id);
  });
});
