/**
 * What content providers produce. Pure types (no node imports) so the workflow bundle may import them;
 * which provider reads which file is decided in provider-catalog.ts from the providers' descriptors.
 */

/** A content provider's name, as its descriptor declares it (see src/providers/index.ts). */
export type ProviderName = string;

export type SectionKind =
  | 'paragraph'
  | 'heading'
  | 'table'
  | 'page'
  | 'code'
  | 'list'
  | 'transcript'
  | 'metadata';

/** How the text was obtained, when it was not read directly from a text layer. */
export type SectionSource = 'text' | 'ocr' | 'transcription';

export interface ExtractedSection {
  text: string;
  /** 1-based page the text was printed on (paged formats only). */
  page?: number;
  /** Heading path the section sits under, outermost first: "Intro > Setup". */
  heading?: string;
  kind: SectionKind;
  /** Spreadsheet sheet name (XLSX, ODS). */
  sheet?: string;
  /** 1-based slide number (PPTX). */
  slide?: number;
  /** Audio/video time range of the text, in seconds from the start. */
  startSeconds?: number;
  endSeconds?: number;
  /** Set to 'ocr' or 'transcription' when the text did not come from a text layer. */
  source?: SectionSource;
  /** Anything else a search hit could be shown with (e.g. a code file's language, a CSV's header). */
  metadata?: Record<string, unknown>;
}

export interface ExtractedDocument {
  provider: ProviderName;
  pageCount?: number;
  sections: ExtractedSection[];
  metadata: Record<string, unknown>;
  /**
   * Files a container holds (ZIP members, e-mail attachments), written by the provider into
   * `ProviderConfig.memberDir`: each is ingested as a file of its own (src/activities/ingest/member-files.ts).
   */
  members?: ExtractedMember[];
}

export interface ExtractedMember {
  /** Where it was in the container ("docs/plan.md", an attachment's file name), as the container said. */
  name: string;
  /** Its file under the provider's memberDir (a plain name the provider chose, never the member's). */
  file: string;
  size: number;
  mimeType?: string;
}
