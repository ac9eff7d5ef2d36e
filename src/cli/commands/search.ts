/**
 * `p8fs search "query" --tenant T [--mode text|semantic|hybrid] [--limit N] [--offset N] [--json]`: search
 * over a tenant's ingested files (src/db/search.ts) by words, by meaning or both, best hit first, each
 * with its file, pages and a snippet. The query is embedded here (the configured embedding provider),
 * only when the tenant has vectors to compare.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createPool, pgAddress } from '../../clients/postgres.js';
import { loadConfig } from '../../config/config.js';
import { databaseName } from '../../db/ensure-database.js';
import {
  DEFAULT_SEARCH_LIMIT,
  MAX_SEARCH_LIMIT,
  SEARCH_MODES,
  type SearchMode,
  searchResources,
} from '../../db/search.js';
import { queryEmbedder } from '../../providers/embeddings/query-embedder.js';
import { formatSearchResult } from '../search-format.js';

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
    return n;
  };
}

export function registerSearchCommand(program: Command): void {
  program
    .command('search')
    .description(
      "Search a tenant's ingested files by words, meaning or both: ranked hits with snippet, file and pages",
    )
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
    .addOption(
      new Option(
        '--mode <mode>',
        'text (words), semantic (meaning: vectors of the configured embedding provider) or hybrid (both, fused by reciprocal rank); default hybrid when the tenant has vectors, else text',
      ).choices(SEARCH_MODES),
    )
    .option('--json', 'print the result as JSON (mode, hits with rank, snippet, file, path and pages)')
    .addHelpText(
      'after',
      [
        '',
        'Words are matched by their stem in English ("reports" finds "report"); common words are ignored.',
        'Matched words are marked «like this» in snippets (bold on a terminal). A search needs at least one',
        'word to find (-word alone is refused). Semantic and hybrid modes embed the query with',
        "P8FS_EMBEDDING_PROVIDER and compare it with the chunks' vectors of that provider (docs/SEARCH.md).",
        '',
        'Examples:',
        '  p8fs search "engram processor" --tenant tenant-demo',
        `  p8fs search '"content chunking" or embedding -audio' --tenant tenant-demo --limit 5 --json`,
        '  p8fs search "what to do when the engine runs hot" --tenant tenant-demo --mode semantic',
      ].join('\n'),
    )
    .action(
      async (
        query: string,
        options: { tenant: string; limit: number; offset: number; mode?: SearchMode; json?: boolean },
      ) => {
        const cfg = loadConfig();
        const pool = createPool(cfg, 1);
        try {
          const result = await searchResources(pool, {
            tenantId: options.tenant,
            query,
            limit: options.limit,
            offset: options.offset,
            ...(options.mode ? { mode: options.mode } : {}),
            ...(options.mode === 'text' ? {} : { embedder: queryEmbedder(cfg) }),
          }).catch((error: { code?: string }) => {
            // 42P01: no resources table or no embeddings tables; 42703: no search_vector column
            // (migrations 0006 or 0009 not applied).
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
