/**
 * The ZIP directory read from a file at offsets (fileZipBytes), as a batch's ZIP is, against the same
 * archive in memory: real archives written by Python's zipfile (deflated and stored members, an archive
 * comment, a ZIP64 directory), a truncated one, and a 512 MiB sparse file whose directory is read without
 * the file passing through memory.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  entryRange,
  fileZipBytes,
  readZipDirectory,
  type ZipBytes,
  ZipFormatError,
} from '../../src/providers/helpers/zip.js';
import { zipCentralHeader, zipEnd, zipLocalHeader } from '../support/hostile-files.js';

const dir = mkdtempSync(join(tmpdir(), 'p8fs-zip-bytes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a ZIP with Python's zipfile: members (name → text), deflated unless named `*.stored`. */
function pythonZip(
  name: string,
  members: Record<string, string>,
  options: { comment?: string; zip64?: boolean } = {},
) {
  const path = join(dir, name);
  const script = `
import json, sys, zipfile
path, members, comment, zip64 = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
with zipfile.ZipFile(path, "w") as z:
    for member, text in members.items():
        method = zipfile.ZIP_STORED if member.endswith(".stored") else zipfile.ZIP_DEFLATED
        info = zipfile.ZipInfo(member)
        info.compress_type = method
        with z.open(info, "w", force_zip64=zip64) as f:
            f.write(text.encode("utf-8"))
    if zip64:
        # A ZIP64 end-of-directory record, as archives of more than 65,535 entries or 4 GiB have.
        z._didModify = True
        zipfile.ZIP64_LIMIT = 0
        zipfile.ZIP_FILECOUNT_LIMIT = 0
    z.comment = comment.encode("utf-8")
`;
  const run = spawnSync('python3', [
    '-c',
    script,
    path,
    JSON.stringify(members),
    options.comment ?? '',
    options.zip64 ? '1' : '0',
  ]);
  if (run.status !== 0) throw new Error(`python3 zipfile failed: ${run.stderr}`);
  return path;
}

function withFile<T>(path: string, use: (zip: ZipBytes) => T): T {
  const fd = openSync(path, 'r');
  try {
    return use(fileZipBytes(fd, statSync(path).size));
  } finally {
    closeSync(fd);
  }
}

/** A member's text, inflated from the bytes entryRange points at in the file. */
function memberText(path: string, zip: ZipBytes, name: string): string {
  const entry = readZipDirectory(zip).find((e) => e.name === name);
  if (!entry) throw new Error(`${name} not in ${path}`);
  const { start, end } = entryRange(zip, entry);
  const stored = zip.read(start, end - start);
  return (entry.method === 8 ? inflateRawSync(stored) : stored).toString('utf8');
}

const members = {
  'a.txt': 'alpha '.repeat(1000),
  'docs/b.md': '# Bee\n\nbuzz',
  'c.stored': 'stored as is',
  'ünïcode.txt': 'names in UTF-8',
};

describe('ZIP directory read from a file at offsets (batch ZIPs)', () => {
  it('agrees with the in-memory reader on an archive with a comment, and each member reads back', () => {
    const path = pythonZip('comment.zip', members, { comment: 'c'.repeat(3000) });
    const fromMemory = readZipDirectory(readFileSync(path));
    withFile(path, (zip) => {
      expect(readZipDirectory(zip)).toEqual(fromMemory);
      expect(fromMemory.map((e) => e.name)).toEqual(Object.keys(members));
      for (const [name, text] of Object.entries(members)) expect(memberText(path, zip, name)).toBe(text);
    });
  });

  it('reads a ZIP64 directory', () => {
    const path = pythonZip('zip64.zip', members, { zip64: true });
    const bytes = readFileSync(path);
    // The ZIP64 end-of-directory record (0x06064b50) is really there.
    expect(bytes.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBeGreaterThan(0);
    withFile(path, (zip) => {
      expect(readZipDirectory(zip)).toEqual(readZipDirectory(bytes));
      expect(memberText(path, zip, 'docs/b.md')).toBe(members['docs/b.md']);
    });
  });

  it('names a truncated archive as such', () => {
    const whole = readFileSync(pythonZip('whole.zip', members));
    const cut = join(dir, 'cut.zip');
    const fd = openSync(cut, 'w');
    writeSync(fd, whole.subarray(0, Math.floor(whole.length / 2)));
    closeSync(fd);
    withFile(cut, (zip) => {
      expect(() => readZipDirectory(zip)).toThrow(ZipFormatError);
      expect(() => readZipDirectory(zip)).toThrow(/truncated or not a ZIP/);
    });
  });

  it('reads the directory of a 512 MiB archive without holding the file', () => {
    // One stored member of 512 MiB of zeros, the file sparse: header, a hole, then the directory.
    const size = 512 * 1024 * 1024;
    const name = Buffer.from('big.bin');
    const member = { method: 0, crc: 0, compressedSize: size, size, nameLength: name.length, offset: 0 };
    const directoryOffset = 30 + name.length + size;
    const directory = Buffer.concat([zipCentralHeader(member), name]);
    const tail = Buffer.concat([directory, zipEnd(1, directory.length, directoryOffset)]);
    const path = join(dir, 'big.zip');
    const fd = openSync(path, 'w');
    writeSync(fd, Buffer.concat([zipLocalHeader(member), name]), 0, 30 + name.length, 0);
    writeSync(fd, tail, 0, tail.length, directoryOffset);
    closeSync(fd);

    const before = process.memoryUsage().arrayBuffers;
    withFile(path, (zip) => {
      const [entry] = readZipDirectory(zip);
      expect(entry).toMatchObject({
        name: 'big.bin',
        method: 0,
        uncompressedSize: size,
        localHeaderOffset: 0,
      });
      if (!entry) return;
      expect(entryRange(zip, entry)).toEqual({ start: 30 + name.length, end: directoryOffset });
    });
    // The in-memory reader would need the whole 512 MiB; this one reads about 64 KiB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
  });
});
