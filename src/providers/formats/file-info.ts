import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { bareMime, fileExtension, GENERIC_MIME_TYPE } from '../../domain/provider-catalog.js';
import type { ContentProvider } from '../provider.js';

/**
 * The fallback for files no provider reads (a .bin, an image without OCR, an unknown extension): instead
 * of failing the file, one metadata section says what it is (name, size, type, SHA-256), so the file is
 * completed and findable by name. It claims no type: the catalog never picks it, the activity falls back
 * to it by name (UNKNOWN_TYPE_PROVIDER in index.ts). The hash streams, so any size is fine.
 */
export const fileInfoProvider: ContentProvider = {
  name: 'file-info',
  version: '1.0.0',
  mimeTypes: [],
  extensions: [],
  async extract(file, ctx) {
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of createReadStream(file.path, { signal: ctx.signal })) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        ctx.heartbeat({ bytes, of: file.size });
      }
    } catch (err) {
      ctx.signal.throwIfAborted();
      throw err;
    }
    const sha256 = hash.digest('hex');
    const mimeType = bareMime(file.mimeType) || GENERIC_MIME_TYPE;
    const extension = fileExtension(file.name) || 'none';
    const text = [
      `File: ${file.name}`,
      `Size: ${bytes} bytes`,
      `Type: ${mimeType} (extension ${extension})`,
      `SHA-256: ${sha256}`,
      'No content provider reads this type: only its description is stored.',
    ].join('\n');
    const metadata = { name: file.name, size: bytes, mimeType, extension, sha256 };
    return {
      provider: 'file-info',
      sections: [{ text, kind: 'metadata', metadata }],
      metadata: { ...metadata, contentExtracted: false },
    };
  },
};
