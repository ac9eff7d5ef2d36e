/**
 * Custom search attributes: the one definition, used to tag workflow starts, to query them, and to
 * register them on the dev server (`temporal server start-dev --search-attribute Name=Type`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SearchAttributes = {
  TenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  Tier: defineSearchAttributeKey('Tier', SearchAttributeType.KEYWORD),
  FileName: defineSearchAttributeKey('FileName', SearchAttributeType.KEYWORD),
  MimeType: defineSearchAttributeKey('MimeType', SearchAttributeType.KEYWORD),
  FileSize: defineSearchAttributeKey('FileSize', SearchAttributeType.INT),
  JobType: defineSearchAttributeKey('JobType', SearchAttributeType.KEYWORD),
};

/**
 * Values of the JobType search attribute: the same words as `jobs.job_type`, so a query and the table
 * agree. Every ingestFile run is `ingest_file`, whatever its event (create, update, delete, rename: that
 * is in the run's memo and summary).
 */
export const JobTypes = {
  ingestFile: 'ingest_file',
  buildMoments: 'build_moments',
  dreamAnalysis: 'dream_analysis',
  dreamBatch: 'dream_batch',
} as const;

// The `temporal` CLI spells the types in PascalCase.
const CLI_TYPE_NAMES: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** `Name=Type` pairs for `temporal server start-dev --search-attribute` and `operator search-attribute create`. */
export function searchAttributeCliPairs(): string[] {
  return Object.values(SearchAttributes).map(
    (key: { name: string; type: SearchAttributeType }) => `${key.name}=${CLI_TYPE_NAMES[key.type]}`,
  );
}
