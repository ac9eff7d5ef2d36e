/**
 * Rows of a table (CSV, TSV, a spreadsheet's sheet) as markdown-table sections that each repeat the
 * header: a chunk cut from any of them still says what every column means. A section stays well under
 * one chunk (the chunker keeps a section that fits whole), so every chunk holds a header line.
 */
import type { ExtractedSection } from '../../domain/content.js';

/**
 * Characters of one table section, header included. Table text is token-dense (pipes, numbers, dates:
 * down to ~2 characters per token), so 600 characters stay under the ~360 tokens a section may take in a
 * default chunk (400 tokens less the 40-token overlap) and are never split away from their header.
 */
export const TABLE_SECTION_CHARS = 600;

export class TableSections {
  private header: string[] | undefined;
  private headerText = '';
  private rows: string[] = [];
  private chars = 0;
  private firstRow = 0;
  private lastRow = 0;
  private headerOnlyGiven = false;
  /** Data rows seen, for the document's metadata. */
  rowCount = 0;

  constructor(
    private readonly where: { sheet?: string } = {},
    private readonly maxChars = TABLE_SECTION_CHARS,
  ) {}

  get columns(): string[] | undefined {
    return this.header;
  }

  /**
   * Carries on a table read before (a stream resumed from a checkpoint): the header already seen and the
   * data rows counted so far, so the next sections repeat the same header and the row count goes on.
   */
  resume(columns: string[], rowCount: number): this {
    this.header = [...columns];
    this.headerText = headerLines(this.header);
    this.rowCount = rowCount;
    this.headerOnlyGiven = rowCount > 0;
    return this;
  }

  /**
   * One record in file order: the first non-empty one is the header. `rowNumber` is its 1-based row (line
   * of a CSV, row of a sheet). Returns a finished section when this row would not fit the current one.
   */
  add(cells: string[], rowNumber: number): ExtractedSection | undefined {
    if (!cells.some((c) => c.trim())) return undefined;
    if (!this.header) {
      this.header = cells.map((c, i) => c.trim() || `column ${i + 1}`);
      this.headerText = headerLines(this.header);
      return undefined;
    }
    // Rows longer than the header get named columns too, so no cell is dropped.
    if (this.header.length < cells.length) {
      while (this.header.length < cells.length) this.header.push(`column ${this.header.length + 1}`);
      this.headerText = headerLines(this.header);
    }
    const line = markdownRow(this.header.map((_, i) => cells[i] ?? ''));
    this.rowCount++;
    let done: ExtractedSection | undefined;
    if (this.rows.length > 0 && this.headerText.length + this.chars + line.length + 1 > this.maxChars) {
      done = this.flush();
    }
    if (this.rows.length === 0) this.firstRow = rowNumber;
    this.rows.push(line);
    this.chars += line.length + 1;
    this.lastRow = rowNumber;
    return done;
  }

  /** The rows not yet in a section (a header alone, with no rows, becomes a section of its own). */
  flush(): ExtractedSection | undefined {
    if (!this.header) return undefined;
    if (this.rows.length === 0) {
      if (this.rowCount > 0 || this.headerOnlyGiven) return undefined;
      this.headerOnlyGiven = true;
      return this.section(this.headerText, {});
    }
    const text = `${this.headerText}\n${this.rows.join('\n')}`;
    const rows = { firstRow: this.firstRow, lastRow: this.lastRow };
    this.rows = [];
    this.chars = 0;
    return this.section(text, rows);
  }

  private section(text: string, rows: Record<string, number>): ExtractedSection {
    return {
      text,
      kind: 'table',
      ...(this.where.sheet !== undefined ? { sheet: this.where.sheet, heading: this.where.sheet } : {}),
      metadata: { columns: [...(this.header ?? [])], ...rows },
    };
  }
}

/** The header row and its separator row. */
function headerLines(header: string[]): string {
  return `${markdownRow(header)}\n${markdownRow(header.map(() => '---'))}`;
}

/** "| a | b |", with pipes escaped and line breaks flattened so one record stays one line. */
export function markdownRow(cells: string[]): string {
  return `| ${cells
    .map((c) =>
      c
        .replace(/\r?\n|\r/g, ' ')
        .replace(/\|/g, '\\|')
        .trim(),
    )
    .join(' | ')} |`;
}
