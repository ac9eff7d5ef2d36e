/**
 * Limits on what one file may expand to while it is extracted. A small file can hold gigabytes once
 * inflated (a DOCX XML bomb, a PDF flate bomb, YAML "billion laughs", one 200 MB line): providers check
 * these limits as they go and stop with a LimitExceededError that names the limit, its value, the
 * variable that sets it and the file. Crossing a limit is a property of the file, so it is never retried.
 *
 * The values come from the worker's configuration (src/config/limits.ts, per storage tier); the process
 * that runs the extraction adds a memory ceiling on top (src/activities/ingest/extraction/).
 */
import { errorText, LimitExceededError, NonRetryableError } from '../domain/errors.js';

export interface ExtractionLimits {
  /** Characters of extracted text, all sections together. */
  maxExtractedChars: number;
  /** Pages of a paged document (PDF). */
  maxPages: number;
  /** Bytes compressed parts may inflate to, all together: DOCX zip entries read, PDF flate streams. */
  maxDecompressedBytes: number;
  /** Levels of nesting in JSON and YAML. */
  maxNestingDepth: number;
  /** YAML alias nodes in a file, and how far they may expand (the `yaml` package's maxAliasCount). */
  maxYamlAliases: number;
  /** Characters in one line of text, markdown or code. */
  maxLineChars: number;
  /** Files one archive (ZIP) or e-mail (attachments) may hold; each becomes a file of its own. */
  maxArchiveEntries: number;
  /** Uncompressed ÷ compressed size of one archive entry of 1 MiB or more (zip bombs compress ~1000:1). */
  maxCompressionRatio: number;
  /** Archives inside archives: a member file at this depth is not unpacked again. */
  maxArchiveDepth: number;
  /** The variable that set each limit, for messages; the general P8FS_LIMIT_* name where absent. */
  variables?: Partial<Record<LimitName, string>>;
}

export type LimitName = Exclude<keyof ExtractionLimits, 'variables'>;

export const LIMIT_NAMES: readonly LimitName[] = [
  'maxExtractedChars',
  'maxPages',
  'maxDecompressedBytes',
  'maxNestingDepth',
  'maxYamlAliases',
  'maxLineChars',
  'maxArchiveEntries',
  'maxCompressionRatio',
  'maxArchiveDepth',
];

/** `maxExtractedChars` → `P8FS_LIMIT_MAX_EXTRACTED_CHARS`: the variable that sets a limit for every tier. */
export function limitVariable(name: LimitName): string {
  return `P8FS_LIMIT_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/**
 * The limits of extractions outside a worker (tests, benches, tools): the small tier's defaults, which a
 * unit test holds equal to src/config/limits.ts.
 */
export const DEFAULT_LIMITS: ExtractionLimits = {
  maxExtractedChars: 128 * 1024 * 1024,
  maxPages: 5000,
  maxDecompressedBytes: 256 * 1024 * 1024,
  maxNestingDepth: 128,
  maxYamlAliases: 1000,
  maxLineChars: 16 * 1024 * 1024,
  maxArchiveEntries: 1000,
  maxCompressionRatio: 200,
  maxArchiveDepth: 3,
};

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** 268435456 → "256 MiB"; sizes that are not whole KiB, MiB or GiB stay in bytes. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** 4917843 → "4.7 MiB": a size for reading, not for setting a limit. */
export function approxBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (bytes >= size) return `${(bytes / size).toFixed(1)} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** How each limit reads in a message: "<file> <verb> the <value> limit on <subject> (<variable>)". */
const WORDING: Record<LimitName, { verb: string; subject: string; value: (n: number) => string }> = {
  maxDecompressedBytes: { verb: 'expands beyond', subject: 'decompressed bytes', value: formatBytes },
  maxExtractedChars: { verb: 'yields more text than', subject: 'extracted characters', value: String },
  maxPages: { verb: 'has more pages than', subject: 'pages', value: String },
  maxNestingDepth: { verb: 'nests deeper than', subject: 'nesting depth', value: String },
  maxYamlAliases: { verb: 'uses YAML aliases beyond', subject: 'YAML alias expansion', value: String },
  maxLineChars: { verb: 'has a line longer than', subject: 'characters per line', value: String },
  maxArchiveEntries: { verb: 'holds more files than', subject: 'archive entries', value: String },
  maxCompressionRatio: {
    verb: 'compresses more than',
    subject: 'compression ratio (uncompressed to compressed size)',
    value: String,
  },
  maxArchiveDepth: { verb: 'nests archives deeper than', subject: 'archive nesting depth', value: String },
};

/**
 * The error for a file that crosses a limit, e.g. "report.docx expands beyond the 256 MiB limit on
 * decompressed bytes (P8FS_LIMIT_MAX_DECOMPRESSED_BYTES): word/document.xml alone declares 1.1 GiB".
 */
export function limitExceeded(
  fileName: string,
  limits: ExtractionLimits,
  name: LimitName,
  detail?: string,
): LimitExceededError {
  const { verb, subject, value } = WORDING[name];
  const variable = limits.variables?.[name] ?? limitVariable(name);
  return new LimitExceededError(
    `${fileName} ${verb} the ${value(limits[name])} limit on ${subject} (${variable})${detail ? `: ${detail}` : ''}`,
  );
}

/** Throws when the characters extracted so far cross the limit. */
export function checkExtractedChars(fileName: string, limits: ExtractionLimits, characters: number): void {
  if (characters > limits.maxExtractedChars) {
    throw limitExceeded(fileName, limits, 'maxExtractedChars', `at least ${characters} characters`);
  }
}

// What the JavaScript engine throws when a value outgrows what it can hold: a string over ~512 Mi
// characters, a buffer or array too large to allocate, recursion deeper than the stack.
const EXHAUSTION =
  /Invalid string length|Cannot create a string longer|Array buffer allocation failed|Invalid typed array length|Invalid array length|Maximum call stack size exceeded|ERR_BUFFER_TOO_LARGE|ERR_STRING_TOO_LONG|out of memory/i;

/**
 * True for errors that say the file outgrew the engine rather than that it is damaged: RangeErrors such
 * as "Invalid string length", also when a library re-wrapped them under another name.
 */
export function isResourceExhaustion(error: unknown): boolean {
  if (error instanceof NonRetryableError) return false;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return EXHAUSTION.test(`${error.name}: ${error.message} ${typeof code === 'string' ? code : ''}`);
}

/**
 * A file that outgrew the engine is not corrupt: it expands beyond what one extraction can hold, which
 * retrying cannot change. Said so, instead of sending people looking for damage that is not there.
 */
export function exhausted(fileName: string, error: unknown): LimitExceededError {
  const reason = error instanceof Error ? `${error.name}: ${errorText(error)}` : String(error);
  const stack = /Maximum call stack/i.test(reason);
  return new LimitExceededError(
    stack
      ? `${fileName} nests deeper than the extraction can follow (${reason}); the file is not damaged, it is too deeply nested`
      : `${fileName} expands beyond what one extraction can hold in memory (${reason}); the file is not damaged, it is too large once expanded`,
  );
}
