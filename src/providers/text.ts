import type { ContentProvider } from './provider.js';
import { readUtf8File, splitParagraphs } from './read-text.js';

/** Plain text: one paragraph section per blank-line-separated block. An empty file has no sections. */
export const textProvider: ContentProvider = {
  name: 'text',
  version: '1.0.0',
  mimeTypes: ['text/plain'],
  extensions: ['.txt', '.text', '.log'],
  async extract(file, ctx) {
    const text = await readUtf8File(file, ctx);
    return {
      provider: 'text',
      sections: splitParagraphs(text).map((p) => ({ text: p, kind: 'paragraph' })),
      metadata: { characters: text.length },
    };
  },
};
