import type { ExtractedDocument, ProviderName } from '../domain/content.js';
import { UnsupportedFileTypeError } from '../domain/errors.js';
import { extractDocx } from './docx.js';
import { extractMarkdown } from './markdown.js';
import { extractPdf } from './pdf.js';
import { extractStructured } from './structured.js';
import { extractText } from './text.js';

const PROVIDERS: Readonly<Record<ProviderName, (filePath: string) => Promise<ExtractedDocument>>> = {
  text: extractText,
  markdown: extractMarkdown,
  structured: extractStructured,
  pdf: extractPdf,
  docx: extractDocx,
};

/**
 * Extracts a downloaded file with the named provider (see pickProvider). Providers take a path, not a
 * buffer, so one can later stream a file larger than memory without changing this signature.
 */
export async function extractFile(provider: ProviderName, filePath: string): Promise<ExtractedDocument> {
  const extract = PROVIDERS[provider];
  // Provider names arrive through workflow history, so an old or mistyped name is possible at run time.
  if (!extract) throw new UnsupportedFileTypeError(`unknown content provider "${String(provider)}"`);
  return extract(filePath);
}
