/**
 * The text form of a search result, shared by `p8fs search` and the demo's last step: best hit first,
 * each with its file, pages and a one-line snippet.
 */
import { hitLocation, type SearchResult, SNIPPET_START, SNIPPET_STOP } from '../db/search.js';

/** Snippets hold the chunk's line breaks and layout spaces: one line reads better in a list. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** On a terminal the «marks» become bold; in a pipe or a file they stay, so the match is still visible. */
function highlight(snippet: string, tty: boolean): string {
  if (!tty) return snippet;
  return snippet.split(SNIPPET_START).join('\u001b[1m').split(SNIPPET_STOP).join('\u001b[22m');
}

/** The text form of a search result. */
export function formatSearchResult(result: SearchResult, tenantId: string, tty = false): string {
  const lines: string[] = [];
  if (result.note) lines.push(`no hits for ${JSON.stringify(result.query)}: ${result.note}`);
  else if (result.total === 0)
    lines.push(
      `no hits for ${JSON.stringify(result.query)} in tenant ${tenantId} (searched as ${result.parsedQuery})`,
    );
  else {
    const last = result.offset + result.hits.length;
    lines.push(
      `${result.total} hit${result.total === 1 ? '' : 's'} for ${JSON.stringify(result.query)} in tenant ${tenantId}` +
        (result.hits.length === 0
          ? ` (none past ${result.offset})`
          : ` (showing ${result.offset + 1}–${last}, searched as ${result.parsedQuery})`),
    );
    result.hits.forEach((hit, i) => {
      lines.push('');
      lines.push(`${result.offset + i + 1}. ${hitLocation(hit)}  (rank ${hit.rank.toFixed(3)})`);
      lines.push(`   ${highlight(oneLine(hit.snippet), tty)}`);
    });
    if (last < result.total) lines.push('', `more: add --offset ${last}`);
  }
  return lines.join('\n');
}
