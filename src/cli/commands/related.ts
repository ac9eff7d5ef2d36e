/**
 * `p8fs related FILE_OR_RESOURCE --tenant T [--limit N] [--json]`: what resource affinity
 * (`p8fs dreaming process --task affinity`) linked a file or a resource to, both ways, one line per
 * neighbour file, strongest first (src/db/affinity.ts). The file by id, name, path or s3:// URI.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { createPool } from '../../clients/postgres.js';
import { loadConfig } from '../../config/config.js';
import { findRelatedTarget, type RelatedResource, relatedResources } from '../../db/affinity.js';

const MAX_LIMIT = 100;

function limit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_LIMIT)
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number from 1 to ${MAX_LIMIT}`);
  return n;
}

function line(r: RelatedResource): string {
  const what = r.file_name ? `${r.file_name}${r.name !== r.file_name ? ` (${r.name})` : ''}` : r.name;
  const how = [
    r.rel_type,
    r.match_type ?? 'unknown',
    r.similarity === null ? '' : `similarity ${r.similarity}`,
  ]
    .filter(Boolean)
    .join(', ');
  const arrow = r.direction === 'out' ? '→' : '←';
  return `  ${r.weight.toFixed(2)} ${arrow} ${what}  [${how}]  ${r.file_path ?? r.id}`;
}

export function registerRelatedCommand(program: Command): void {
  program
    .command('related')
    .description(
      'Resources related to a file or a resource (edges written by `p8fs dreaming process --task affinity`)',
    )
    .argument('<file-or-resource>', 'a file id, name, path or s3:// URI, or a resource (chunk) id')
    .requiredOption('--tenant <tenant>', 'the tenant whose resources are read (no other tenant is ever read)')
    .option('--limit <n>', `neighbour files shown (1-${MAX_LIMIT})`, limit, 20)
    .option('--json', 'print JSON instead of lines')
    .addHelpText(
      'after',
      [
        '',
        'One line per neighbour file: weight, → (this file holds the edge) or ← (the neighbour holds it),',
        'the file (and chunk), rel_type, match_type (semantic-basic or llm-assessed) and similarity.',
        '  p8fs related notes/mom-surgery.md --tenant tenant-demo',
        '  p8fs related 6f1c…-resource-id --tenant tenant-demo --json',
      ].join('\n'),
    )
    .action(async (ref: string, options: { tenant: string; limit: number; json?: boolean }) => {
      const cfg = loadConfig();
      const pool = createPool(cfg, 2);
      try {
        const target = await findRelatedTarget(pool, options.tenant, ref);
        if (!target)
          throw new Error(
            `no file or resource ${JSON.stringify(ref)} for tenant ${options.tenant} (a file id, name, path or s3:// URI, or a resource id)`,
          );
        const related = await relatedResources(pool, options.tenant, target.resourceIds, options.limit);
        if (options.json) {
          console.log(
            JSON.stringify({ kind: target.kind, id: target.id, name: target.name, related }, null, 2),
          );
          return;
        }
        console.log(`${target.kind} ${target.name} (${target.id}): ${related.length} related`);
        for (const r of related) console.log(line(r));
        if (related.length === 0)
          console.log(
            `  none yet: p8fs dreaming process --task affinity --tenant-id ${options.tenant} (needs vectors: P8FS_EMBEDDINGS_ENABLED)`,
          );
      } finally {
        await pool.end();
      }
    });
}
