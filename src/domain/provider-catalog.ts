/**
 * Which content provider reads which file, and which mime type a file name implies. Pure (no node
 * imports, nothing outside src/domain): the providers' descriptors bring their own data (name, mime
 * types, extensions) and this module only decides, so adding a provider never touches a table here.
 */

/** The data part of a content provider's descriptor: enough to choose it, nothing that reads files. */
export interface ProviderDescriptor {
  readonly name: string;
  /** Bare, lower-case mime types ("text/markdown"), no parameters. */
  readonly mimeTypes: readonly string[];
  /** Lower-case extensions with their dot (".md"). */
  readonly extensions: readonly string[];
}

/** What says nothing about a file's content: a missing type or the generic binary one. */
export const GENERIC_MIME_TYPE = 'application/octet-stream';

/**
 * The one table of file types known by extension: the mime type a producer sends for such a file. It
 * also lists types no provider reads yet (audio, CSV, HTML), so uploads carry a real type and a refusal
 * names it. The conformance test checks that every provider's extensions map here to a type the same
 * provider claims, so an upload labelled by this table always reaches the provider its extension names.
 */
// A Map, not an object: the key comes from user input, and "constructor" must not find a prototype member.
const MIME_BY_EXTENSION: ReadonlyMap<string, string> = new Map([
  ['.txt', 'text/plain'],
  ['.text', 'text/plain'],
  ['.log', 'text/plain'],
  ['.md', 'text/markdown'],
  ['.markdown', 'text/markdown'],
  ['.json', 'application/json'],
  ['.jsonl', 'application/jsonl'],
  ['.ndjson', 'application/x-ndjson'],
  ['.yaml', 'application/x-yaml'],
  ['.yml', 'application/x-yaml'],
  ['.pdf', 'application/pdf'],
  ['.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  ['.wav', 'audio/wav'],
  ['.mp3', 'audio/mpeg'],
  ['.m4a', 'audio/mp4'],
  ['.flac', 'audio/flac'],
  ['.ogg', 'audio/ogg'],
  ['.oga', 'audio/ogg'],
  ['.opus', 'audio/opus'],
  ['.png', 'image/png'],
  ['.jpg', 'image/jpeg'],
  ['.jpeg', 'image/jpeg'],
  ['.tif', 'image/tiff'],
  ['.tiff', 'image/tiff'],
  ['.csv', 'text/csv'],
  ['.html', 'text/html'],
  ['.htm', 'text/html'],
  ['.xhtml', 'application/xhtml+xml'],
  ['.tsv', 'text/tab-separated-values'],
  ['.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  ['.pptx', 'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
  ['.odt', 'application/vnd.oasis.opendocument.text'],
  ['.rtf', 'application/rtf'],
  ['.eml', 'message/rfc822'],
  ['.zip', 'application/zip'],
]);

/**
 * Lower-case extension with its dot ("" when the name has none); works on names, keys and paths alike.
 * A name that starts with its only dot (".env", ".bashrc") is a hidden file with no extension, as in
 * POSIX shells and node's path.extname: ".bashrc" is not a file of type "bashrc".
 */
export function fileExtension(fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** Mime type without parameters ("text/plain; charset=utf-8" → "text/plain"), lower-cased. */
export function bareMime(mimeType: string | undefined): string {
  return (mimeType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** The mime type a producer would send for a file name; used for uploads (CLI, publish, tests). */
export function mimeTypeForFileName(fileName: string): string {
  return MIME_BY_EXTENSION.get(fileExtension(fileName)) ?? GENERIC_MIME_TYPE;
}

/** Message for an unsupported file: "no content provider for audio/wav (.wav) yet". */
export function describeUnsupported(mimeType: string | undefined, fileName: string): string {
  const mime = bareMime(mimeType) || 'unknown type';
  const ext = fileExtension(fileName) || 'no extension';
  return `no content provider for ${mime} (${ext}) yet`;
}

export interface ProviderCatalog {
  /** Provider names in the order they were given. */
  readonly names: readonly string[];
  /**
   * The provider for a file, trusting a specific mime type first because uploaders often name files
   * loosely, and falling back to the extension when the mime type is missing, generic or unknown.
   * text/plain is true of every text format, so there a text-based provider named by the extension
   * (markdown for .md, structured for .yaml) wins. Undefined means no provider yet; the caller turns
   * that into an UnsupportedFileTypeError (see describeUnsupported).
   */
  pick(mimeType: string | undefined, fileName: string): string | undefined;
}

/**
 * Builds the lookup from the descriptors' data. Two providers claiming one mime type or extension is a
 * programming error (which should win would depend on list order), so it throws at start-up.
 */
export function createProviderCatalog(providers: readonly ProviderDescriptor[]): ProviderCatalog {
  const byMime = new Map<string, ProviderDescriptor>();
  const byExtension = new Map<string, ProviderDescriptor>();
  const claim = (map: Map<string, ProviderDescriptor>, key: string, provider: ProviderDescriptor) => {
    const owner = map.get(key);
    if (owner) throw new Error(`content providers ${owner.name} and ${provider.name} both claim ${key}`);
    map.set(key, provider);
  };
  for (const provider of providers) {
    for (const mime of provider.mimeTypes) claim(byMime, bareMime(mime), provider);
    for (const ext of provider.extensions) claim(byExtension, ext.toLowerCase(), provider);
  }
  // A provider that also claims a text/* type reads text, so text/plain may be a loose label for it.
  const readsText = (p: ProviderDescriptor) => p.mimeTypes.some((m) => m.startsWith('text/'));

  return {
    names: providers.map((p) => p.name),
    pick(mimeType, fileName) {
      const mime = bareMime(mimeType);
      const byMimeType = byMime.get(mime);
      const byExt = byExtension.get(fileExtension(fileName));
      if (mime === 'text/plain' && byExt && readsText(byExt)) return byExt.name;
      return (byMimeType ?? byExt)?.name;
    },
  };
}
