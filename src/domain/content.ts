/**
 * What content providers produce, and which provider reads which file. Pure (no node imports) so the
 * workflow bundle may import it to name providers in its history without pulling in parsers.
 */

export type ProviderName = 'text' | 'markdown' | 'structured' | 'pdf' | 'docx';

export type SectionKind = 'paragraph' | 'heading' | 'table' | 'page' | 'code' | 'list';

export interface ExtractedSection {
  text: string;
  /** 1-based page the text was printed on (paged formats only). */
  page?: number;
  /** Heading path the section sits under, outermost first: "Intro > Setup". */
  heading?: string;
  kind: SectionKind;
}

export interface ExtractedDocument {
  provider: ProviderName;
  pageCount?: number;
  sections: ExtractedSection[];
  metadata: Record<string, unknown>;
}

const BY_MIME: Readonly<Record<string, ProviderName>> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'application/json': 'structured',
  'text/json': 'structured',
  'application/x-yaml': 'structured',
  'application/yaml': 'structured',
  'text/yaml': 'structured',
  'text/x-yaml': 'structured',
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
};

// CSV is deliberately absent: it deserves a row-aware provider, not paragraph splitting.
const BY_EXTENSION: Readonly<Record<string, ProviderName>> = {
  '.txt': 'text',
  '.text': 'text',
  '.log': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.json': 'structured',
  '.yaml': 'structured',
  '.yml': 'structured',
  '.pdf': 'pdf',
  '.docx': 'docx',
};

/** Lower-case extension with its dot ("" when the name has none); works on keys and paths alike. */
export function fileExtension(fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** Mime type without parameters ("text/plain; charset=utf-8" → "text/plain"), lower-cased. */
function bareMime(mimeType: string | undefined): string {
  return (mimeType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/**
 * The provider for a file, trusting a specific mime type first because uploaders often name files
 * loosely, and falling back to the extension when the mime is missing or generic
 * (application/octet-stream, or text/plain on a markdown, JSON or YAML file). Undefined means no
 * provider yet; the caller turns that into an UnsupportedFileTypeError (see describeUnsupported).
 */
export function pickProvider(mimeType: string | undefined, fileName: string): ProviderName | undefined {
  const byMime = BY_MIME[bareMime(mimeType)];
  const byExtension = BY_EXTENSION[fileExtension(fileName)];
  // Markdown, JSON and YAML are all text/plain too, and many clients label them so; the extension then
  // says more than the mime type does.
  if (byMime === 'text' && (byExtension === 'markdown' || byExtension === 'structured')) return byExtension;
  return byMime ?? byExtension;
}

/** Message for an unsupported file: "no content provider for audio/wav (.wav) yet". */
export function describeUnsupported(mimeType: string | undefined, fileName: string): string {
  const mime = bareMime(mimeType) || 'unknown type';
  const ext = fileExtension(fileName) || 'no extension';
  return `no content provider for ${mime} (${ext}) yet`;
}
