/**
 * `p8fs moments list|show`: a tenant's moments as people read them (src/db/moments.ts): the list by time
 * range, person and topic, newest first; one moment whole by id.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { createPool } from '../../clients/postgres.js';
import { loadConfig } from '../../config/config.js';
import { getMoment, listMoments, MAX_MOMENTS_LIMIT, type MomentView } from '../../db/moments.js';
import { parseSince } from '../../domain/since.js';

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
    return n;
  };
}

/** --since/--until as people type them (src/domain/since.ts); the error names the option given. */
function instant(flag: '--since' | '--until', value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSince(value, new Date());
  } catch (error) {
    throw new Error((error as Error).message.replace(/^--since/, flag));
  }
}

function missingTable(error: { code?: string }): never {
  if (error.code === '42P01' || error.code === '42703')
    throw new Error('the moments table is missing or behind: run `p8fs migrate` first');
  throw error;
}

function span(m: MomentView): string {
  if (!m.resource_timestamp) return `(no time; written ${m.created_at})`;
  const end = m.resource_ends_timestamp ? ` → ${m.resource_ends_timestamp.slice(11, 19)}` : '';
  return `${m.resource_timestamp.replace('T', ' ').slice(0, 19)}${end}`;
}

function persons(m: MomentView): string {
  return m.present_persons
    .map((p) => {
      const person = (p ?? {}) as Record<string, unknown>;
      return String(person.user_label ?? person.name ?? person.user_id ?? person.id ?? '?');
    })
    .join(', ');
}

function printLine(m: MomentView): void {
  console.log(`${m.id}  ${span(m)}  [${m.moment_type ?? '-'}] ${m.name}`);
  const who = persons(m);
  console.log(
    `    ${who ? `with ${who}; ` : ''}topics ${m.topic_tags.join(', ') || '-'}; emotions ${m.emotion_tags.join(', ') || '-'}`,
  );
}

function printWhole(m: MomentView): void {
  console.log(`moment ${m.id}: ${m.name}`);
  console.log(`  when:         ${span(m)}`);
  console.log(`  type:         ${m.moment_type ?? '-'} (${m.category ?? 'no category'})`);
  console.log(`  persons:      ${persons(m) || '-'}`);
  console.log(`  location:     ${m.location ?? '-'}`);
  console.log(`  topics:       ${m.topic_tags.join(', ') || '-'}`);
  console.log(`  emotions:     ${m.emotion_tags.join(', ') || '-'}`);
  console.log(`  key emotions: ${m.key_emotions.join(', ') || '-'}`);
  if (m.images.length > 0) console.log(`  images:       ${m.images.join(', ')}`);
  if (m.graph_paths.length > 0) console.log(`  related:      ${m.graph_paths.length} edge(s)`);
  if (m.summary) console.log(`  summary:      ${m.summary}`);
  console.log('');
  console.log(m.content);
}

export function registerMomentsCommands(program: Command): void {
  const moments = program
    .command('moments')
    .description("A tenant's moments (built from transcripts, sessions and documents): list and show");
  moments
    .command('list')
    .description('List moments, newest first, by time range, person and topic')
    .requiredOption('--tenant <tenant>', 'tenant whose moments are listed (no other tenant is read)')
    .option('--since <when>', 'moments ending after this: ISO date/time or an age (2h, 7d)')
    .option('--until <when>', 'moments starting before this: ISO date/time or an age')
    .option('--person <who>', 'a person present: their label or name (any case), user id or fingerprint')
    .option('--topic <tag>', 'a topic tag (kebab-case, e.g. contract-review)')
    .option(
      '--limit <n>',
      `moments to show, 1 to ${MAX_MOMENTS_LIMIT}`,
      wholeNumber(1, MAX_MOMENTS_LIMIT),
      20,
    )
    .option('--offset <n>', 'moments to skip (the next page)', wholeNumber(0, 10_000), 0)
    .option('--json', 'print {total, moments} as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  p8fs moments list --tenant tenant-demo --since 7d',
        '  p8fs moments list --tenant tenant-demo --person Alice --topic contract-review --json',
      ].join('\n'),
    )
    .action(
      async (options: {
        tenant: string;
        since?: string;
        until?: string;
        person?: string;
        topic?: string;
        limit: number;
        offset: number;
        json?: boolean;
      }) => {
        const since = instant('--since', options.since);
        const until = instant('--until', options.until);
        const pool = createPool(loadConfig(), 1);
        try {
          const result = await listMoments(pool, {
            tenantId: options.tenant,
            ...(since ? { since } : {}),
            ...(until ? { until } : {}),
            ...(options.person ? { person: options.person } : {}),
            ...(options.topic ? { topic: options.topic } : {}),
            limit: options.limit,
            offset: options.offset,
          }).catch(missingTable);
          if (options.json) {
            console.log(JSON.stringify(result, null, 2));
            return;
          }
          if (result.total === 0) {
            console.log(`no moments for ${options.tenant} match`);
            return;
          }
          for (const m of result.moments) printLine(m);
          const last = options.offset + result.moments.length;
          console.log(`${options.offset + 1}-${last} of ${result.total} moment(s)`);
        } finally {
          await pool.end();
        }
      },
    );
  moments
    .command('show')
    .description('Print one moment whole (all its fields with --json)')
    .argument('<id>', 'the moment id (from `p8fs moments list`)')
    .requiredOption('--tenant <tenant>', 'tenant the moment belongs to')
    .option('--json', 'print the moment as JSON')
    .action(async (id: string, options: { tenant: string; json?: boolean }) => {
      const pool = createPool(loadConfig(), 1);
      try {
        const moment = await getMoment(pool, options.tenant, id).catch(missingTable);
        if (!moment) {
          console.error(
            `p8fs: tenant ${options.tenant} has no moment ${id} (p8fs moments list --tenant ${options.tenant})`,
          );
          process.exitCode = 1;
          return;
        }
        if (options.json) console.log(JSON.stringify(moment, null, 2));
        else printWhole(moment);
      } finally {
        await pool.end();
      }
    });
}
