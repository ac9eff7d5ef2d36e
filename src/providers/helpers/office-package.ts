/**
 * What PPTX, XLSX and ODT share: they are ZIP packages, read through the bounded ZIP reader (zip.ts), so
 * the same checks and the same messages apply to all: a 0-byte file, an encrypted (OLE) file, bytes that
 * are not a ZIP, and the decompressed-bytes limit.
 */
import { CorruptFileError, errorText, NonRetryableError } from '../../domain/errors.js';
import { exhausted, isResourceExhaustion, limitExceeded } from '../limits.js';
import type { ProviderContext } from '../provider.js';
import { BoundedZip, ZipBudgetError, ZipFormatError } from './zip.js';

/** Opens `buffer` as an office package named `name` of the kind `what` ("a PPTX file"). */
export function openPackage(buffer: Buffer, name: string, what: string, ctx: ProviderContext): BoundedZip {
  checkPackageBytes(buffer, name, what);
  try {
    return new BoundedZip(buffer, ctx.config.limits.maxDecompressedBytes, ctx.signal);
  } catch (err) {
    throw packageFailure(name, what, err, ctx);
  }
}

export function checkPackageBytes(buffer: Buffer, name: string, what: string): void {
  if (buffer.length === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not ${what}`);
  // Encrypted (password-protected) Office documents and the old binary formats are OLE files, not ZIPs.
  if (buffer.length >= 4 && buffer.readUInt32LE(0) === 0xe011cfd0) {
    throw new CorruptFileError(`${name} is password-protected or an old binary Office file, not ${what}`);
  }
  if (buffer.length < 4 || buffer.readUInt32LE(0) !== 0x04034b50) {
    throw new CorruptFileError(`${name} is damaged or not ${what} (no ZIP signature)`);
  }
}

/** Reads a part as UTF-8 text, or undefined when the package has no such part. */
export async function readPart(zip: BoundedZip, part: string): Promise<string | undefined> {
  if (!zip.exists(part)) return undefined;
  return (await zip.read(part, 'utf-8')) as string;
}

/** Why reading a package failed, told apart: the limit, the engine outgrown, or damage. */
export function packageFailure(name: string, what: string, err: unknown, ctx: ProviderContext): Error {
  ctx.signal.throwIfAborted();
  if (err instanceof NonRetryableError) return err;
  if (err instanceof ZipBudgetError) {
    return limitExceeded(name, ctx.config.limits, 'maxDecompressedBytes', err.message);
  }
  if (isResourceExhaustion(err)) return exhausted(name, err);
  const reason = err instanceof ZipFormatError ? err.message : errorText(err);
  return new CorruptFileError(`${name} is damaged or not ${what} (${reason})`);
}
