import { CorruptFileError } from '../domain/errors.js';
import { readSourceFile, type SourceFile } from './provider.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Reads a text file as UTF-8, refusing binary content: a NUL byte or an invalid UTF-8 sequence means
 * the file is not what its type claims, and retrying will not change that.
 */
export async function readUtf8File(file: SourceFile, signal: AbortSignal): Promise<string> {
  const bytes = await readSourceFile(file, signal);
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new CorruptFileError(`${file.name} is not text: NUL byte at offset ${nul}`);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new CorruptFileError(`${file.name} is not valid UTF-8 text`);
  }
  // Windows and old-Mac line ends would otherwise defeat every blank-line and heading rule downstream.
  return text.replace(/\r\n?/g, '\n');
}

/** Splits on blank lines, trimming each paragraph and dropping empty ones. */
export function splitParagraphs(text: string): string[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
