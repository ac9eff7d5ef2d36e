/**
 * What content providers produce. Pure types (no node imports) so the workflow bundle may import them;
 * which provider reads which file is decided in provider-catalog.ts from the providers' descriptors.
 */

/** A content provider's name, as its descriptor declares it (see src/providers/index.ts). */
export type ProviderName = string;

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
