/**
 * The classifier on metadata events captured from the real SeaweedFS filer of the test stack
 * (`SubscribeMetadata` under /buckets/ while an S3 client created bucket `tenant-capture`, put
 * docs/a.txt, overwrote it, uploaded docs/big.bin in two parts, moved a.txt → b.txt → other/c.txt through
 * the filer's HTTP API and deleted other/c.txt). Bytes fields are stored as { b64 }.
 */
import { describe, expect, it } from 'vitest';
import { parseStorageEvent } from '../../src/domain/storage-event.js';
import { classifyFilerEvent, entrySize, messageId } from '../../src/subscriber/classify.js';
import type { FilerMetadataEvent } from '../../src/subscriber/filer-client.js';

const CAPTURED_JSON =
  '[{"directory": "/buckets", "event_notification": {"new_entry": {"name": "tenant-capture", "is_directory": true, "attributes": {"mtime": "1796016819", "file_mode": 2147484159, "crtime": "1796016819"}, "extended": {"s3-identity-id": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}}}, "delete_chunks": true, "new_parent_path": "/buckets"}, "ts_ns": "1796016819899902892"}, {"directory": "/buckets/.system/owners/p8fs", "event_notification": {"new_entry": {"name": "tenant-capture", "attributes": {"mtime": "1796016819", "file_mode": 504, "crtime": "1796016819"}}, "delete_chunks": true, "new_parent_path": "/buckets/.system/owners/p8fs"}, "ts_ns": "1796016819900851312"}, {"directory": "/buckets/.system/owners/p8fs", "event_notification": {"old_entry": {"name": "tenant-capture", "attributes": {"mtime": "1796016819", "file_mode": 504, "crtime": "1796016819"}}, "new_entry": {"name": "tenant-capture", "attributes": {"mtime": "1796016819", "file_mode": 504, "crtime": "1796016819"}}, "delete_chunks": true, "new_parent_path": "/buckets/.system/owners/p8fs"}, "ts_ns": "1796016819901358063"}, {"directory": "/buckets/tenant-capture", "event_notification": {"new_entry": {"name": "docs", "is_directory": true, "attributes": {"mtime": "1796016820", "file_mode": 2147484153, "crtime": "1796016820"}}, "new_parent_path": "/buckets/tenant-capture"}, "ts_ns": "1796016820125607880"}, {"directory": "/buckets/tenant-capture/docs", "event_notification": {"new_entry": {"name": "a.txt", "chunks": [{"size": "11", "mtime": "1796016820124965544", "e_tag": "XrY7u+Ae7tCTyyK7j1rNww=="}], "attributes": {"file_size": "11", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "mime": "text/plain", "md5": {"b64": "XrY7u+Ae7tCTyyK7j1rNww=="}}, "extended": {"Seaweed-X-Amz-ETag": {"b64": "NWViNjNiYmJlMDFlZWVkMDkzY2IyMmJiOGY1YWNkYzM="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "RFVvUmhRPT0="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}}}, "delete_chunks": true, "new_parent_path": "/buckets/tenant-capture/docs"}, "ts_ns": "1796016820125639309"}, {"directory": "/buckets/tenant-capture/docs", "event_notification": {"old_entry": {"name": "a.txt", "chunks": [{"size": "11", "mtime": "1796016820124965544", "e_tag": "XrY7u+Ae7tCTyyK7j1rNww=="}], "attributes": {"file_size": "11", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "mime": "text/plain", "md5": {"b64": "XrY7u+Ae7tCTyyK7j1rNww=="}}, "extended": {"Seaweed-X-Amz-ETag": {"b64": "NWViNjNiYmJlMDFlZWVkMDkzY2IyMmJiOGY1YWNkYzM="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "RFVvUmhRPT0="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}}}, "new_entry": {"name": "a.txt", "chunks": [{"size": "13", "mtime": "1796016820137641514", "e_tag": "UnCUEZEZivKgHbNXLxtH6A=="}], "attributes": {"file_size": "13", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "mime": "text/plain", "md5": {"b64": "UnCUEZEZivKgHbNXLxtH6A=="}}, "extended": {"x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "TU00bWF3PT0="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "NTI3MDk0MTE5MTE5OGFmMmEwMWRiMzU3MmYxYjQ3ZTg="}}}, "delete_chunks": true, "new_parent_path": "/buckets/tenant-capture/docs"}, "ts_ns": "1796016820138090496"}, {"directory": "/buckets/tenant-capture", "event_notification": {"new_entry": {"name": ".uploads", "is_directory": true, "attributes": {"mtime": "1796016820", "file_mode": 2147484159, "crtime": "1796016820"}}, "new_parent_path": "/buckets/tenant-capture"}, "ts_ns": "1796016820147297686"}, {"directory": "/buckets/tenant-capture/.uploads", "event_notification": {"new_entry": {"name": "7914dfff33d6f263fd9958946876f9c2ca7d3c6a_a9f5c4c007cc4b508e4fb9803f4f0a58", "is_directory": true, "attributes": {"mtime": "1796016820", "file_mode": 2147484159, "crtime": "1796016820", "mime": "application/octet-stream"}, "extended": {"key": {"b64": "ZG9jcy9iaWcuYmlu"}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}}}, "delete_chunks": true, "new_parent_path": "/buckets/tenant-capture/.uploads"}, "ts_ns": "1796016820147337921"}, {"directory": "/buckets/tenant-capture/.uploads/7914dfff33d6f263fd9958946876f9c2ca7d3c6a_a9f5c4c007cc4b508e4fb9803f4f0a58", "event_notification": {"new_entry": {"name": "0001_82b74ed3-5e42-45b5-9c8c-791f059448e3.part", "chunks": [{"size": "4194304", "mtime": "1796016820231509148", "e_tag": "OmtrusTwBlZI32zx4PzqdA=="}, {"offset": "4194304", "size": "1048576", "mtime": "1796016820410364793", "e_tag": "01uy5YtgLZTM2WKPJJrn5Q=="}], "attributes": {"file_size": "5242880", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "md5": {"b64": "CLRhgdcJS17OiLs4nHSZrw=="}}, "extended": {"Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "MDhiNDYxODFkNzA5NGI1ZWNlODhiYjM4OWM3NDk5YWY="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "NjdYRHhBPT0="}}}, "delete_chunks": true, "new_parent_path": "/buckets/tenant-capture/.uploads/7914dfff33d6f263fd9958946876f9c2ca7d3c6a_a9f5c4c007cc4b508e4fb9803f4f0a58"}, "ts_ns": "1796016820410878637"}, {"directory": "/buckets/tenant-capture/.uploads/7914dfff33d6f263fd9958946876f9c2ca7d3c6a_a9f5c4c007cc4b508e4fb9803f4f0a58", "event_notification": {"new_entry": {"name": "0002_65a29e39-9eb0-4a2d-978f-24c4d00209c4.part", "chunks": [{"size": "4", "mtime": "1796016820421515319", "e_tag": "euolUt/n64S5RDtvybpuAQ=="}], "attributes": {"file_size": "4", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "md5": {"b64": "euolUt/n64S5RDtvybpuAQ=="}}, "extended": {"Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "N2FlYTI1NTJkZmU3ZWI4NGI5NDQzYjZmYzliYTZlMDE="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "ZkRlMFhRPT0="}}}, "delete_chunks": true, "new_parent_path": "/buckets/tenant-capture/.uploads/7914dfff33d6f263fd9958946876f9c2ca7d3c6a_a9f5c4c007cc4b508e4fb9803f4f0a58"}, "ts_ns": "1796016820421796747"}, {"directory": "/buckets/tenant-capture/docs", "event_notification": {"new_entry": {"name": "big.bin", "chunks": [{"size": "4194304", "mtime": "1796016820231509148", "e_tag": "OmtrusTwBlZI32zx4PzqdA=="}, {"offset": "4194304", "size": "1048576", "mtime": "1796016820410364793", "e_tag": "01uy5YtgLZTM2WKPJJrn5Q=="}, {"offset": "5242880", "size": "4", "mtime": "1796016820421515319", "e_tag": "euolUt/n64S5RDtvybpuAQ=="}], "attributes": {"file_size": "5242884", "mtime": "1796016820", "file_mode": 504, "crtime": "1796016820"}, "extended": {"X-Seaweedfs-Upload-Id": {"b64": "NzkxNGRmZmYzM2Q2ZjI2M2ZkOTk1ODk0Njg3NmY5YzJjYTdkM2M2YV9hOWY1YzRjMDA3Y2M0YjUwOGU0ZmI5ODAzZjRmMGE1OA=="}, "X-Seaweedfs-Multipart-Parts-Count": {"b64": "Mg=="}, "X-Seaweedfs-Multipart-Part-Boundaries": {"b64": "W3sicGFydCI6MSwic3RhcnQiOjAsImVuZCI6MiwiZXRhZyI6IlwiMDhiNDYxODFkNzA5NGI1ZWNlODhiYjM4OWM3NDk5YWZcIiIsImVuZE9mZnNldCI6NTI0Mjg4MH0seyJwYXJ0IjoyLCJzdGFydCI6MiwiZW5kIjozLCJldGFnIjoiXCI3YWVhMjU1MmRmZTdlYjg0Yjk0NDNiNmZjOWJhNmUwMVwiIiwic3RhcnRPZmZzZXQiOjUyNDI4ODAsImVuZE9mZnNldCI6NTI0Mjg4NH1d"}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "MWI1NTg2ZGNjNGM5NzdhZDllYjgyYzkxN2FmNTlhODMtMg=="}}}, "delete_chunks": true, "new_parent_path": "/buckets/tenant-capture/docs"}, "ts_ns": "1796016820436456159"}, {"directory": "/buckets/tenant-capture/.uploads/7914dfff33d6f263fd9958946876f9c2ca7d3c6a_a9f5c4c007cc4b508e4fb9803f4f0a58", "event_notification": {"old_entry": {"name": "0001_82b74ed3-5e42-45b5-9c8c-791f059448e3.part", "chunks": [{"size": "4194304", "mtime": "1796016820231509148", "e_tag": "OmtrusTwBlZI32zx4PzqdA=="}, {"offset": "4194304", "size": "1048576", "mtime": "1796016820410364793", "e_tag": "01uy5YtgLZTM2WKPJJrn5Q=="}], "attributes": {"file_size": "5242880", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "md5": {"b64": "CLRhgdcJS17OiLs4nHSZrw=="}}, "extended": {"x-seaweedfs-checksum-value": {"b64": "NjdYRHhBPT0="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "MDhiNDYxODFkNzA5NGI1ZWNlODhiYjM4OWM3NDk5YWY="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}}}}, "ts_ns": "1796016820436706429"}, {"directory": "/buckets/tenant-capture/.uploads/7914dfff33d6f263fd9958946876f9c2ca7d3c6a_a9f5c4c007cc4b508e4fb9803f4f0a58", "event_notification": {"old_entry": {"name": "0002_65a29e39-9eb0-4a2d-978f-24c4d00209c4.part", "chunks": [{"size": "4", "mtime": "1796016820421515319", "e_tag": "euolUt/n64S5RDtvybpuAQ=="}], "attributes": {"file_size": "4", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "md5": {"b64": "euolUt/n64S5RDtvybpuAQ=="}}, "extended": {"Seaweed-X-Amz-ETag": {"b64": "N2FlYTI1NTJkZmU3ZWI4NGI5NDQzYjZmYzliYTZlMDE="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "ZkRlMFhRPT0="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}}}}, "ts_ns": "1796016820436731365"}, {"directory": "/buckets/tenant-capture/.uploads", "event_notification": {"old_entry": {"name": "7914dfff33d6f263fd9958946876f9c2ca7d3c6a_a9f5c4c007cc4b508e4fb9803f4f0a58", "is_directory": true, "attributes": {"mtime": "1796016820", "file_mode": 2147484159, "crtime": "1796016820", "mime": "application/octet-stream"}, "extended": {"Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "key": {"b64": "ZG9jcy9iaWcuYmlu"}}}}, "ts_ns": "1796016820436810424"}, {"directory": "/buckets/tenant-capture/docs", "event_notification": {"old_entry": {"name": "a.txt", "chunks": [{"size": "13", "mtime": "1796016820137641514", "e_tag": "UnCUEZEZivKgHbNXLxtH6A=="}], "attributes": {"file_size": "13", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "mime": "text/plain", "md5": {"b64": "UnCUEZEZivKgHbNXLxtH6A=="}}, "extended": {"x-seaweedfs-checksum-value": {"b64": "TU00bWF3PT0="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "NTI3MDk0MTE5MTE5OGFmMmEwMWRiMzU3MmYxYjQ3ZTg="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}}}, "new_entry": {"name": "b.txt", "chunks": [{"size": "13", "mtime": "1796016820137641514", "e_tag": "UnCUEZEZivKgHbNXLxtH6A=="}], "attributes": {"file_size": "13", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "mime": "text/plain", "md5": {"b64": "UnCUEZEZivKgHbNXLxtH6A=="}}, "extended": {"x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "TU00bWF3PT0="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "NTI3MDk0MTE5MTE5OGFmMmEwMWRiMzU3MmYxYjQ3ZTg="}}}, "new_parent_path": "/buckets/tenant-capture/docs"}, "ts_ns": "1796016820472582989"}, {"directory": "/buckets/tenant-capture/docs", "event_notification": {"old_entry": {"name": "b.txt", "chunks": [{"size": "13", "mtime": "1796016820137641514", "e_tag": "UnCUEZEZivKgHbNXLxtH6A=="}], "attributes": {"file_size": "13", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "mime": "text/plain", "md5": {"b64": "UnCUEZEZivKgHbNXLxtH6A=="}}, "extended": {"Seaweed-X-Amz-ETag": {"b64": "NTI3MDk0MTE5MTE5OGFmMmEwMWRiMzU3MmYxYjQ3ZTg="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "TU00bWF3PT0="}, "Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}}}, "new_entry": {"name": "c.txt", "chunks": [{"size": "13", "mtime": "1796016820137641514", "e_tag": "UnCUEZEZivKgHbNXLxtH6A=="}], "attributes": {"file_size": "13", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "mime": "text/plain", "md5": {"b64": "UnCUEZEZivKgHbNXLxtH6A=="}}, "extended": {"Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "NTI3MDk0MTE5MTE5OGFmMmEwMWRiMzU3MmYxYjQ3ZTg="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "TU00bWF3PT0="}}}, "new_parent_path": "/buckets/tenant-capture/other"}, "ts_ns": "1796016820485467580"}, {"directory": "/buckets/tenant-capture/other", "event_notification": {"old_entry": {"name": "c.txt", "chunks": [{"size": "13", "mtime": "1796016820137641514", "e_tag": "UnCUEZEZivKgHbNXLxtH6A=="}], "attributes": {"file_size": "13", "mtime": "1796016820", "file_mode": 432, "crtime": "1796016820", "mime": "text/plain", "md5": {"b64": "UnCUEZEZivKgHbNXLxtH6A=="}}, "extended": {"Seaweed-X-Amz-Owner": {"b64": "cDhmcw=="}, "Seaweed-X-Amz-ETag": {"b64": "NTI3MDk0MTE5MTE5OGFmMmEwMWRiMzU3MmYxYjQ3ZTg="}, "x-seaweedfs-checksum-algorithm": {"b64": "WC1BbXotQ2hlY2tzdW0tQ3JjMzI="}, "x-seaweedfs-checksum-value": {"b64": "TU00bWF3PT0="}}}, "delete_chunks": true}, "ts_ns": "1796016820490956542"}]';

function revive(json: string): FilerMetadataEvent[] {
  return JSON.parse(json, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && 'b64' in value && typeof value.b64 === 'string'
      ? Buffer.from(value.b64, 'base64')
      : value,
  ) as FilerMetadataEvent[];
}

const captured = revive(CAPTURED_JSON);
const B = '/buckets/tenant-capture';

describe('classifyFilerEvent on events captured from the filer', () => {
  const results = captured.map((e) => classifyFilerEvent(e));

  it("skips the bucket, the filer's bookkeeping, directories and multipart parts", () => {
    const skips = results.filter((r) => r.kind === 'skip').map((r) => r.kind === 'skip' && r.reason);
    expect(skips).toEqual([
      'directory', // the bucket itself
      'system',
      'system',
      'directory', // docs/
      'directory', // .uploads/
      'directory', // .uploads/<upload id>/
      'multipart-part',
      'multipart-part',
      'multipart-part', // parts removed after the completion
      'multipart-part',
      'directory', // the upload folder removed
    ]);
  });

  it('publishes create, update, create of the completed multipart object, renames and delete', () => {
    const published = results.flatMap((r) => (r.kind === 'publish' ? [r.event] : []));
    expect(published.map((e) => [e.event_type, e.path, e.old_path])).toEqual([
      ['create', `${B}/docs/a.txt`, undefined],
      ['update', `${B}/docs/a.txt`, undefined],
      ['create', `${B}/docs/big.bin`, undefined],
      ['rename', `${B}/docs/b.txt`, `${B}/docs/a.txt`],
      ['rename', `${B}/other/c.txt`, `${B}/docs/b.txt`],
      ['delete', `${B}/other/c.txt`, undefined],
    ]);
    const [created, updated, multipart] = published;
    expect(created).toMatchObject({
      size: 11,
      mime_type: 'text/plain',
      etag: '5eb63bbbe01eeed093cb22bb8f5acdc3',
      md5: '5eb63bbbe01eeed093cb22bb8f5acdc3',
      source: 'seaweedfs-filer',
    });
    expect(created?.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(updated).toMatchObject({ size: 13, etag: '5270941191198af2a01db3572f1b47e8' });
    // The multipart object: its S3 etag (from `extended`, md5 of the parts' md5s + part count), final size.
    expect(multipart).toMatchObject({ size: 5 * 1024 * 1024 + 4 });
    expect(String(multipart?.etag)).toMatch(/^[0-9a-f]{32}-2$/);
    expect(multipart?.md5).toBeUndefined();
  });

  it('publishes events the storage-event parser accepts as they are', () => {
    for (const r of results) {
      if (r.kind !== 'publish') continue;
      const parsed = parseStorageEvent(JSON.stringify(r.event));
      expect(parsed.kind, JSON.stringify(parsed)).toBe('event');
      if (parsed.kind !== 'event') continue;
      expect(parsed.event.type).toBe(r.event.event_type);
      expect(parsed.event.tenantId).toBe('tenant-capture');
    }
  });

  it('derives the message id from ts_ns and the paths: stable on replay, distinct per event', () => {
    const again = captured.map((e) => classifyFilerEvent(e));
    const ids = results.flatMap((r) => (r.kind === 'publish' ? [r.msgId] : []));
    expect(again.flatMap((r) => (r.kind === 'publish' ? [r.msgId] : []))).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^filer-\d+-[0-9a-f]{32}$/);
    expect(messageId('1', '/buckets/a/x')).not.toBe(messageId('2', '/buckets/a/x'));
    expect(messageId('1', '/buckets/a/x', '/buckets/a/y')).not.toBe(messageId('1', '/buckets/a/x'));
  });
});

describe('classifyFilerEvent rules', () => {
  const file = (name: string, size = 5) => ({
    name,
    attributes: { file_size: String(size), mtime: '1700000000' },
  });

  it('skips events outside /buckets and empty notifications', () => {
    expect(
      classifyFilerEvent({ directory: '/etc', ts_ns: '1', event_notification: { new_entry: file('x') } }),
    ).toMatchObject({ kind: 'skip', reason: 'outside-buckets' });
    expect(classifyFilerEvent({ directory: '/buckets/b', ts_ns: '1', event_notification: {} })).toMatchObject(
      {
        kind: 'skip',
        reason: 'no-change',
      },
    );
  });

  it('treats a move out of /buckets as outside, and a metadata-only update as no new version', () => {
    expect(
      classifyFilerEvent({
        directory: '/buckets/b/docs',
        ts_ns: '1',
        event_notification: { old_entry: file('x'), new_entry: file('x'), new_parent_path: '/tmp' },
      }),
    ).toMatchObject({ kind: 'skip', reason: 'outside-buckets' });
    const same = {
      name: 'x',
      chunks: [{ size: '5', mtime: '9', e_tag: 'e' }],
      attributes: { file_size: '5', md5: Buffer.from('00ff', 'hex') },
    };
    expect(
      classifyFilerEvent({
        directory: '/buckets/b/docs',
        ts_ns: '1',
        event_notification: { old_entry: same, new_entry: { ...same, extended: { tag: Buffer.from('v') } } },
      }),
    ).toMatchObject({ kind: 'skip', reason: 'unchanged-metadata' });
  });

  it("skips the workers' writes to the derived-data bucket and every p8fs- bucket", () => {
    const write = (directory: string) => ({
      directory,
      ts_ns: '1',
      event_notification: { new_entry: file('extracted.json') },
    });
    expect(
      classifyFilerEvent(write('/buckets/my-derived/tenant/id/v'), { reservedBuckets: ['my-derived'] }),
    ).toMatchObject({ kind: 'skip', reason: 'reserved-bucket' });
    expect(classifyFilerEvent(write('/buckets/p8fs-derived/tenant/id/v'))).toMatchObject({
      kind: 'skip',
      reason: 'reserved-bucket',
    });
    expect(classifyFilerEvent(write('/buckets/tenant/docs'))).toMatchObject({ kind: 'publish' });
  });

  it('sizes an entry by attributes, chunks or inline content', () => {
    expect(entrySize({ name: 'a', attributes: { file_size: '42' } })).toBe(42);
    expect(entrySize({ name: 'a', chunks: [{ offset: '10', size: '5' }] })).toBe(15);
    expect(entrySize({ name: 'a', content: Buffer.from('abc') })).toBe(3);
    expect(entrySize({ name: 'a' })).toBe(0);
  });
});
