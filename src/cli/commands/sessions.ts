/** `p8fs sessions import FILE… --tenant T`: chat sessions (samples/dreaming/sessions format) into PostgreSQL. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createPool } from '../../clients/postgres.js';
import { loadConfig } from '../../config/config.js';
import { upsertSession } from '../../db/sessions.js';
import { errorText, InvalidSessionError } from '../../domain/errors.js';
import { parseSessions } from '../../domain/insight/session.js';

export function registerSessionsCommands(program: Command): void {
  const sessions = program
    .command('sessions')
    .description('Chat sessions per tenant (read by dream analysis)');
  sessions
    .command('import')
    .description(
      'Import chat session JSON files for a tenant (idempotent: the same session_id updates its row)',
    )
    .argument(
      '<file...>',
      'session files: {session_id, messages: [{role, content, timestamp}], …} or an array of them',
    )
    .requiredOption('--tenant <tenant>', 'tenant id the sessions belong to')
    .addHelpText(
      'after',
      '\nExample:\n  p8fs sessions import ../shared/samples/dreaming/sessions/*.json --tenant tenant-test',
    )
    .action(async (files: string[], options: { tenant: string }) => {
      const cfg = loadConfig();
      const parsed = files.map((file) => {
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(file, 'utf8'));
        } catch (error) {
          throw new InvalidSessionError(`${file}: not a readable JSON file (${errorText(error)})`, {
            cause: error,
          });
        }
        return { file, sessions: parseSessions(json, file) };
      });
      const pool = createPool(cfg, 2);
      try {
        let inserted = 0;
        let updated = 0;
        for (const { file, sessions: list } of parsed) {
          for (const session of list) {
            const result = await upsertSession(pool, options.tenant, session).catch(
              (error: { code?: string }) => {
                if (error.code === '42P01')
                  throw new Error('table sessions does not exist: run `p8fs migrate` first');
                throw error;
              },
            );
            if (result.inserted) inserted++;
            else updated++;
            console.log(
              `${result.inserted ? 'imported' : 'updated '} ${session.externalId} (${session.messages.length} messages) from ${file} → ${result.id}`,
            );
          }
        }
        console.log(`sessions for ${options.tenant}: ${inserted} new, ${updated} updated`);
      } finally {
        await pool.end();
      }
    });
}
