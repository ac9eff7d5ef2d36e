/**
 * `p8fs search "query" --tenant T [--limit N] [--offset N] [--json]`: full-text search over a tenant's
 * ingested files (src/db/search.ts), best hit first, each with its file, pages and a snippet.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { createPool, pgAddress } from '../../clients/postgres.js';
import { type Config, loadConfig } from '../../config/config.js';
import { databaseName } from '../../db/ensure-database.js';
import {
  DEFAULT_SEARCH_LIMIT,
  hitLocation,
  MAX_SEARCH_LIMIT,
  type SearchResult,
  SNIPPET_START,
  SNIPPET_STOP,
  searchResources,
} from '../../db/search.js';
import { errorText } from '../../domain/errors.js';

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Snippets hold the chunk's line breaks and layout spaces: one line reads better in a list. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** On a terminal the «marks» become bold; in a pipe or a file they stay, so the match is still visible. */
function highlight(snippet: string, tty: boolean): string {
  if (!tty) return snippet;
  return snippet.split(SNIPPET_START).join('\u001b[1m').split(SNIPPET_STOP).join('\u001b[22m');
}

/** The text form of a search result; exported for the demo, which ends with one query. */
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

export function registerSearchCommand(program: Command): void {
  program
    .command('search')
    .description("Full-text search over a tenant's ingested files: ranked hits with snippet, file and pages")
    .argument(
      '<query>',
      'words to look for; "a phrase" in quotes, `or` between alternatives, -word to exclude',
    )
    .requiredOption('--tenant <tenant>', 'tenant whose files are searched (no other tenant is ever searched)')
    .option(
      '--limit <n>',
      `hits to show, 1 to ${MAX_SEARCH_LIMIT}`,
      wholeNumber(1, MAX_SEARCH_LIMIT),
      DEFAULT_SEARCH_LIMIT,
    )
    .option('--offset <n>', 'hits to skip (the next page)', wholeNumber(0, Number.MAX_SAFE_INTEGER), 0)
    .option('--json', 'print the result as JSON (hits with rank, snippet, file, path and pages)')
    .addHelpText(
      'after',
      [
        '',
        'Words are matched by their stem in English ("reports" finds "report"); common words are ignored.',
        'Matched words are marked «like this» in snippets (bold on a terminal).',
        '',
        'Examples:',
        '  p8fs search "engram processor" --tenant tenant-demo',
        `  p8fs search '"content chunking" or embedding -audio' --tenant tenant-demo --limit 5 --json`,
      ].join('\n'),
    )
    .action(
      async (query: string, options: { tenant: string; limit: number; offset: number; json?: boolean }) => {
        const cfg = loadConfig();
        const pool = createPool(cfg, 1);
        try {
          const result = await searchResources(pool, {
            tenantId: options.tenant,
            query,
            limit: options.limit,
            offset: options.offset,
          }).catch((error: { code?: string }) => {
            // 42P01: no resources table; 42703: no search_vector column (migration 0006 not applied).
            if (error.code === '42P01' || error.code === '42703')
              throw new Error(
                `the database ${databaseName(cfg)} has no search index yet: run \`p8fs migrate\` first`,
              );
            if (error.code === '3D000')
              throw new Error(
                `the database ${databaseName(cfg)} does not exist (P8FS_PG_DATABASE or DATABASE_URL): run \`p8fs migrate\` first, or point the settings at the right server`,
              );
            if (error.code === 'ECONNREFUSED')
              throw new Error(
                `PostgreSQL at ${pgAddress(cfg)} refused the connection (P8FS_PG_HOST, P8FS_PG_PORT or DATABASE_URL): is it running? (\`p8fs stack up\`)`,
              );
            throw error;
          });
          console.log(
            options.json
              ? JSON.stringify({ tenant: options.tenant, ...result }, null, 2)
              : formatSearchResult(result, options.tenant, process.stdout.isTTY === true),
          );
          // A mistyped tenant looks like "no hits": say when the tenant has nothing ingested at all.
          if (result.total === 0 && !options.json) {
            const any = await pool.query('SELECT 1 FROM resources WHERE tenant_id = $1 LIMIT 1', [
              options.tenant,
            ]);
            if (any.rowCount === 0)
              console.error(
                `note: tenant ${options.tenant} has no ingested files in ${databaseName(cfg)}: check --tenant`,
              );
          }
        } finally {
          await pool.end();
        }
      },
    );
}

/** The query `make demo` ends with: a phrase from page 3 of Sample.pdf, so the hit shows its page. */
export const DEMO_SEARCH_QUERY = 'engram processor for content chunking';

/**
 * The demo's last step: one search over the demo tenant's files, top hits printed. A failed query
 * makes the demo fail (returns false) after saying why.
 */
export async function runDemoSearch(
  cfg: Config,
  tenantId: string,
  say: (line: string) => void,
): Promise<boolean> {
  say(`search: p8fs search "${DEMO_SEARCH_QUERY}" --tenant ${tenantId} --limit 3`);
  const pool = createPool(cfg, 1);
  try {
    const result = await searchResources(pool, { tenantId, query: DEMO_SEARCH_QUERY, limit: 3 });
    console.log(`\n${formatSearchResult(result, tenantId, process.stdout.isTTY === true)}`);
    return true;
  } catch (error) {
    say(`✗ search failed: ${errorText(error)}`);
    return false;
  } finally {
    await pool.end();
  }
}
