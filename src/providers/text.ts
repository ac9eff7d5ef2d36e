import type { ExtractedDocument } from '../domain/content.js';
import { readUtf8File, splitParagraphs } from './read-text.js';

export async function extractText(filePath: string): Promise<ExtractedDocument> {
  const text = await readUtf8File(filePath);
  return {
    provider: 'text',
    sections: splitParagraphs(text).map((p) => ({ text: p, kind: 'paragraph' })),
    metadata: { characters: text.length },
  };
}
