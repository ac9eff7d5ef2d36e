/**
 * The text form of a search result, shared by `p8fs search` and the demo's last step: best hit first,
 * each with its file, pages and a one-line snippet.
 */
import {
  hitLocation,
  type SearchHit,
  type SearchMode,
  type SearchResult,
  SNIPPET_START,
  SNIPPET_STOP,
} from '../db/search.js';

/** Snippets hold the chunk's line breaks and layout spaces: one line reads better in a list. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** On a terminal the «marks» become bold; in a pipe or a file they stay, so the match is still visible. */
function highlight(snippet: string, tty: boolean): string {
  if (!tty) return snippet;
  return snippet.split(SNIPPET_START).join('\u001b[1m').split(SNIPPET_STOP).join('\u001b[22m');
}

/** The scores behind a hit's place: its rank, and in hybrid mode the two rankings' own figures. */
function scores(hit: SearchHit, mode: SearchMode): string {
  if (mode === 'semantic') return `similarity ${hit.rank.toFixed(3)}`;
  if (mode === 'text') return `rank ${hit.rank.toFixed(3)}`;
  const parts = [`rrf ${hit.rank.toFixed(4)}`];
  if (hit.textRank !== undefined) parts.push(`text ${hit.textRank.toFixed(3)}`);
  if (hit.similarity !== undefined) parts.push(`similarity ${hit.similarity.toFixed(3)}`);
  return parts.join(', ');
}

/** The text form of a search result. */
export function formatSearchResult(result: SearchResult, tenantId: string, tty = false): string {
  const lines: string[] = [];
  const total = `${result.total}${result.totalCapped ? '+' : ''}`;
  if (result.total === 0 && result.note && result.parsedQuery === '') {
    // Nothing could match (stop words only): the note is the whole answer.
    lines.push(`no hits for ${JSON.stringify(result.query)}: ${result.note}`);
  } else if (result.total === 0) {
    lines.push(
      `no hits for ${JSON.stringify(result.query)} in tenant ${tenantId} (${result.mode} search, searched as ${result.parsedQuery || 'meaning only'})`,
    );
    if (result.note) lines.push(`note: ${result.note}`);
  } else {
    const last = result.offset + result.hits.length;
    lines.push(
      `${total} hit${result.total === 1 && !result.totalCapped ? '' : 's'} for ${JSON.stringify(result.query)} in tenant ${tenantId}, ${result.mode} search` +
        (result.hits.length === 0
          ? ` (none past ${result.offset})`
          : ` (showing ${result.offset + 1}–${last}, searched as ${result.parsedQuery || 'meaning only'})`),
    );
    if (result.note) lines.push(`note: ${result.note}`);
    result.hits.forEach((hit, i) => {
      lines.push('');
      lines.push(`${result.offset + i + 1}. ${hitLocation(hit)}  (${scores(hit, result.mode)})`);
      lines.push(`   ${highlight(oneLine(hit.snippet), tty)}`);
    });
    if (last < result.total || (result.totalCapped && result.hits.length > 0))
      lines.push('', `more: add --offset ${last}`);
  }
  return lines.join('\n');
}
