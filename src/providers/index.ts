/**
 * The catalog of content providers. Adding one is a new file exporting a ContentProvider plus one line
 * in PROVIDERS; the conformance test (test/unit/provider-conformance.test.ts) then holds it to the
 * same rules as the others.
 */
import type { ExtractedDocument } from '../domain/content.js';
import { CorruptFileError, NonRetryableError, UnsupportedFileTypeError } from '../domain/errors.js';
import { createProviderCatalog } from '../domain/provider-catalog.js';
import { archiveProvider } from './formats/archive.js';
import { audioProvider } from './formats/audio.js';
import { codeProvider } from './formats/code.js';
import { csvProvider } from './formats/csv.js';
import { docxProvider } from './formats/docx.js';
import { emlProvider } from './formats/eml.js';
import { fileInfoProvider } from './formats/file-info.js';
import { htmlProvider } from './formats/html.js';
import { imageProvider } from './formats/image.js';
import { markdownProvider } from './formats/markdown.js';
import { odtProvider } from './formats/odt.js';
import { pdfProvider } from './formats/pdf/pdf.js';
import { pptxProvider } from './formats/pptx.js';
import { rtfProvider } from './formats/rtf.js';
import { structuredProvider } from './formats/structured.js';
import { textProvider } from './formats/text.js';
import { xlsxProvider } from './formats/xlsx.js';
import { checkExtractedChars, exhausted, isResourceExhaustion } from './limits.js';
import type { ContentProvider, ProviderContext, SourceFile } from './provider.js';
import { localContext, localFile } from './provider.js';

export {
  DEFAULT_LIMITS,
  type ExtractionLimits,
  LIMIT_NAMES,
  type LimitName,
  limitVariable,
} from './limits.js';
export type {
  ContentProvider,
  ProviderConfig,
  ProviderContext,
  ProviderLog,
  SourceFile,
} from './provider.js';
export { localContext, localFile } from './provider.js';

export const PROVIDERS = [
  textProvider,
  markdownProvider,
  structuredProvider,
  pdfProvider,
  docxProvider,
  codeProvider,
  htmlProvider,
  csvProvider,
  xlsxProvider,
  pptxProvider,
  odtProvider,
  rtfProvider,
  emlProvider,
  archiveProvider,
  audioProvider,
  imageProvider,
] as const satisfies readonly ContentProvider[];

/**
 * For files no provider in PROVIDERS reads: a metadata resource (name, size, type, hash) instead of a
 * failure (file-info.ts). Not in PROVIDERS, since it claims no type and the catalog never picks it.
 */
export const UNKNOWN_TYPE_PROVIDER = fileInfoProvider.name;

/** Chooses providers from the descriptors' data; throws at import if two providers claim one type. */
export const providerCatalog = createProviderCatalog(PROVIDERS);

/** The provider name for a file, or undefined when none reads it (see describeUnsupported). */
export function pickProvider(mimeType: string | undefined, fileName: string): string | undefined {
  return providerCatalog.pick(mimeType, fileName);
}

const byName: ReadonlyMap<string, ContentProvider> = new Map(
  [...PROVIDERS, fileInfoProvider].map((p) => [p.name, p]),
);

/**
 * Extracts a local file with the named provider (see pickProvider). Providers take a path, not a
 * buffer, so one can later stream a file larger than memory without changing this signature. A bare
 * path is read under its own base name, and without `ctx` the work is quiet and never cancelled: both
 * are for tests, benches and tools; activities pass the real name and their Temporal context.
 *
 * Whatever the provider, the extracted characters are held to the limit, and an error that says the
 * file outgrew the engine ("Invalid string length", a stack overflow) becomes a LimitExceededError:
 * a property of the file, never reported as damage and never retried.
 */
export async function extractFile(
  providerName: string,
  file: SourceFile | string,
  ctx: ProviderContext = localContext(),
): Promise<ExtractedDocument> {
  const provider = byName.get(providerName);
  // Provider names arrive through workflow history, so an old or mistyped name is possible at run time.
  if (!provider) throw new UnsupportedFileTypeError(`unknown content provider "${String(providerName)}"`);
  ctx.signal.throwIfAborted();
  const source = typeof file === 'string' ? await localFile(file) : file;
  let document: ExtractedDocument;
  try {
    document = await provider.extract(source, ctx);
  } catch (err) {
    if (!(err instanceof NonRetryableError) && isResourceExhaustion(err) && !ctx.signal.aborted) {
      throw exhausted(source.name, err);
    }
    throw err;
  }
  // An empty file has nothing to search, whatever its type: a clear failure rather than a completed
  // file with no resources (providers of binary formats already say so in their own words).
  if (source.size === 0) {
    throw new CorruptFileError(`${source.name} is empty (0 bytes): there is no content to extract`);
  }
  checkExtractedChars(
    source.name,
    ctx.config.limits,
    document.sections.reduce((n, s) => n + s.text.length, 0),
  );
  return document;
}
