/**
 * PDF text through poppler's `pdftotext`, the engine used wherever it is installed (pdf.ts falls back to
 * pdfjs where it is not, or where it fails on a file). One process per document (or per batch of pages,
 * `-f/-l`, when streaming), `-bbox-layout -enc UTF-8`: an XHTML listing of every page with its size,
 * then its lines and words with their boxes. That keeps what plain text loses and pdf-layout.ts needs:
 * page boundaries (so every section keeps its page number, and a page without words is visible for
 * OCR), page sizes (OCR renders by them) and line geometry (paragraphs and headings by type size).
 * Plain `pdftotext` splits pages on form feeds but says nothing about type size or page size; `-layout`
 * pads columns with spaces, which would put runs of blanks into the searchable text.
 *
 * The output is parsed as it arrives (one line of it at a time, each bounded), pages handed out one by
 * one, and the extracted characters counted as they come: a PDF whose text expands past the limits
 * stops the process instead of filling memory. The signal and a time limit kill the process.
 */
import { dirname, join } from 'node:path';
import { limitExceeded } from '../../limits.js';
import { mediaSettings } from '../../media/settings.js';
import { runTool, toolReason } from '../../media/tools.js';
import type { ProviderContext, SourceFile } from '../../provider.js';
import type { Line, PdfPage } from './pdf-layout.js';
import { cleanLine } from './pdf-layout.js';

/** pdftotext on one document may not run longer than this (it reads ~200 text pages per second here). */
export const PDFTOTEXT_TIMEOUT_MS = 20 * 60_000;
/**
 * Liveness while pdftotext runs: at most one heartbeat this often (the per-page ones come after). Well
 * inside the activities' 1-minute heartbeat timeout, and long enough that an ordinary document's first
 * beat is still its page 1.
 */
const LIVENESS_MS = 10_000;

/** pdftotext exited with an error on this file: pdf.ts lets pdfjs try (and word the failure). */
export class PdftotextFailedError extends Error {
  override readonly name = 'PdftotextFailedError';
}

/**
 * The pdftotext command: beside pdftoppm when P8FS_PDFTOPPM names a path (both come with
 * poppler-utils), else from PATH.
 */
export function pdftotextCommand(ctx: ProviderContext): string {
  const pdftoppm = mediaSettings(ctx.config).pdftoppm;
  return pdftoppm.includes('/') ? join(dirname(pdftoppm), 'pdftotext') : 'pdftotext';
}

const versions = new Map<string, Promise<string | undefined>>();
/** "22.12.0" from `pdftotext -v` (once per process and command); undefined if it cannot run. */
export function pdftotextVersion(command: string): Promise<string | undefined> {
  let version = versions.get(command);
  if (!version) {
    version = runTool(command, ['-v'], {
      signal: new AbortController().signal,
      timeoutMs: 10_000,
      fileName: 'version',
      variable: 'P8FS_PDFTOPPM',
      maxStdout: 4096,
    }).then(
      (run) => /version\s+([\d.]+)/i.exec(`${run.stdout}${run.stderr}`)?.[1],
      () => undefined,
    );
    versions.set(command, version);
  }
  return version;
}

export interface PopplerRun {
  /** Pages listed (from `first`). */
  pages: number;
  /** Title, author… from the document's info dictionary, as pdfjs's path names them. */
  metadata: Record<string, unknown>;
}

export interface PopplerOptions {
  command: string;
  /** 1-based page range (`-f`/`-l`); the whole document when absent. */
  first?: number;
  last?: number;
  /** Stop (LimitExceededError) past this many pages. */
  maxPages: number;
  /** Characters already extracted before this run (streaming resumes), counted against the limit. */
  characters?: number;
  /** Time limit of the process (default PDFTOTEXT_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Each page, in order, with its 1-based number; may throw to stop the run (the process is killed). */
  onPage(page: PdfPage, pageNumber: number): void;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-f]+));/gi;
const NAMED: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&apos;': "'",
};
function unescapeXml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (m, dec?: string, hex?: string) =>
    dec || hex ? String.fromCodePoint(Number.parseInt(dec ?? hex ?? '0', dec ? 10 : 16)) : (NAMED[m] ?? m),
  );
}

const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]/g;
const ZERO_WIDTH_TEST = /[\u200b-\u200d\u2060\ufeff]/;
const WIDTH = /\bwidth="([^"]*)"/;
const HEIGHT = /\bheight="([^"]*)"/;

/** The number in `name"…"` after `from` in text (0 when absent). */
function numberAttr(text: string, name: string, from: number): number {
  const start = text.indexOf(name, from);
  if (start < 0) return 0;
  const value = start + name.length;
  return Number(text.slice(value, text.indexOf('"', value))) || 0;
}
const META = /^<meta name="([^"]+)" content="([^"]*)"\/>$/;
const META_KEYS: Record<string, string> = {
  Author: 'author',
  Subject: 'subject',
  Producer: 'producer',
  Creator: 'creator',
  CreationDate: 'creationDate',
};

/**
 * Parses pdftotext's -bbox-layout listing line by line as it arrives: one page at a time is held, and
 * no output line may grow past the limit on characters per line (one line is one word with its box).
 */
class BboxParser {
  private pending = '';
  private page: PdfPage | undefined;
  private line: { words: string[]; top: number; bottom: number; weight: number } | undefined;
  /** Length of the word that sized the page's last line (see `</line>`). */
  private previousWeight = -1;
  pages = 0;
  characters: number;
  readonly metadata: Record<string, unknown> = {};

  constructor(
    private readonly file: SourceFile,
    private readonly ctx: ProviderContext,
    private readonly options: PopplerOptions,
  ) {
    this.characters = options.characters ?? 0;
  }

  feed(chunk: string): void {
    const text = this.pending + chunk;
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      this.take(text, from, nl);
      from = nl + 1;
    }
    this.pending = text.slice(from);
    const { limits } = this.ctx.config;
    if (this.pending.length > limits.maxLineChars) {
      throw limitExceeded(
        this.file.name,
        limits,
        'maxLineChars',
        'one word of its text layer alone is longer',
      );
    }
  }

  end(): void {
    this.take(this.pending, 0, this.pending.length);
    this.pending = '';
  }

  /** One line of the listing, text[from, to): words are most of them, so they are parsed by hand. */
  private take(text: string, from: number, to: number): void {
    let at = from;
    while (at < to && text.charCodeAt(at) === 32) at++;
    if (text.startsWith('<word ', at)) {
      const close = text.lastIndexOf('</word>', to);
      const open = text.indexOf('">', at) + 2;
      if (!this.line || open < 2 || close < open) return;
      let word = text.slice(open, close);
      if (word.includes('&')) word = unescapeXml(word);
      // Zero-width spaces (Google Docs puts one after each bullet) are no text and hide the bullet's gap.
      if (ZERO_WIDTH_TEST.test(word)) word = word.replace(ZERO_WIDTH, '');
      if (!word) return;
      this.line.words.push(word);
      // The line's type size is the box height of its longest word: an emoji or symbol font has other
      // ascent and descent, so a "📁" or "✅" would otherwise make a body line pass for a heading.
      if (word.length > this.line.weight) {
        this.line.weight = word.length;
        this.line.top = numberAttr(text, 'yMin="', at);
        this.line.bottom = numberAttr(text, 'yMax="', at);
      }
      return;
    }
    // The rest are rare (one per line, page or document): plain string tests.
    text = text.slice(at, to).trimEnd();
    if (text.startsWith('<line ')) {
      this.line = { words: [], top: 0, bottom: 0, weight: -1 };
    } else if (text === '</line>') {
      const line = this.line;
      this.line = undefined;
      if (!line || !this.page) return;
      const clean = cleanLine(line.words.join(' '));
      if (!clean) return;
      // Top-down box → pdf-layout's upward y; the box height stands for the type size.
      const y = this.page.heightPts - line.bottom;
      // Rounded: the same type at another height on the page must compare equal (heading nesting).
      const size = Math.round((line.bottom - line.top) * 100) / 100;
      const previous = this.page.lines.at(-1);
      if (previous && Math.abs(previous.y - y) < 0.3 * Math.max(size, previous.size, 1)) {
        // poppler splits a row at wide gaps ("│  P8FS System  │", "📁  p8fs-api"); pdfjs keeps it one
        // line, and so do we, sized by the part with the longer word as above.
        previous.text += ` ${clean}`;
        if (line.weight > this.previousWeight) {
          previous.size = size;
          previous.y = y;
          this.previousWeight = line.weight;
        }
      } else {
        this.page.lines.push({ text: clean, y, size } satisfies Line);
        this.previousWeight = line.weight;
      }
      this.characters += clean.length + 1;
      if (this.characters > this.ctx.config.limits.maxExtractedChars) {
        const { limits } = this.ctx.config;
        throw limitExceeded(
          this.file.name,
          limits,
          'maxExtractedChars',
          `at least ${this.characters} characters`,
        );
      }
    } else if (text.startsWith('<page ')) {
      this.pages++;
      if ((this.options.first ?? 1) + this.pages - 1 > this.options.maxPages) {
        const { limits } = this.ctx.config;
        throw limitExceeded(
          this.file.name,
          limits,
          'maxPages',
          `it has more than ${this.options.maxPages} pages`,
        );
      }
      this.page = {
        lines: [],
        widthPts: Number(WIDTH.exec(text)?.[1] ?? 612),
        heightPts: Number(HEIGHT.exec(text)?.[1] ?? 792),
      };
    } else if (text === '</page>') {
      const page = this.page;
      this.page = undefined;
      if (page) this.options.onPage(page, (this.options.first ?? 1) + this.pages - 1);
    } else if (text.startsWith('<title>') && text.endsWith('</title>')) {
      const title = unescapeXml(text.slice(7, -8)).trim();
      if (title) this.metadata.title = title;
    } else if (text.startsWith('<meta ')) {
      const [, key = '', value = ''] = META.exec(text) ?? [];
      const name = META_KEYS[key];
      if (name && unescapeXml(value).trim()) this.metadata[name] = unescapeXml(value).trim();
    }
  }
}

/**
 * Runs pdftotext over the file (or a page range) and hands out its pages one by one. Rejects with
 * ToolUnavailableError where pdftotext is not installed, PdftotextFailedError when it fails on the
 * file, the signal's reason when cancelled, a ToolTimeoutError past the time limit, and whatever
 * onPage or the limits throw (the process is killed in every case).
 */
export async function runPdftotext(
  file: SourceFile,
  ctx: ProviderContext,
  options: PopplerOptions,
): Promise<PopplerRun> {
  const parser = new BboxParser(file, ctx, options);
  // Stopping from inside the output handler: aborting this controller kills the process, and the run
  // rejects with the reason given (a limit crossed), as runTool does for the activity's own signal.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let lastBeat = performance.now();
  // Not -q: its stderr says why it failed on a file, for the fallback's log line.
  const args = ['-bbox-layout', '-enc', 'UTF-8'];
  if (options.first !== undefined) args.push('-f', String(options.first));
  if (options.last !== undefined) args.push('-l', String(options.last));
  args.push(file.path, '-');
  const run = await runTool(options.command, args, {
    signal,
    timeoutMs: options.timeoutMs ?? PDFTOTEXT_TIMEOUT_MS,
    fileName: file.name,
    variable: 'P8FS_PDFTOPPM',
    // Nothing kept: every chunk is parsed on arrival.
    maxStdout: 0,
    onStdout: (chunk) => {
      if (stop.signal.aborted) return;
      try {
        parser.feed(chunk);
      } catch (error) {
        stop.abort(error);
        return;
      }
      const now = performance.now();
      if (now - lastBeat >= LIVENESS_MS) {
        lastBeat = now;
        ctx.heartbeat({ step: 'pdftotext', pages: parser.pages });
      }
    },
  });
  if (run.code !== 0) {
    throw new PdftotextFailedError(`pdftotext: ${toolReason(run, file.path, file.name)}`);
  }
  parser.end();
  return { pages: parser.pages, metadata: parser.metadata };
}
