import type { Command } from 'commander';
import { connectClient, pgAddress } from '../../clients/postgres.js';
import { loadConfig } from '../../config/config.js';
import { databaseName, ensureDatabase } from '../../db/ensure-database.js';
import { migrate } from '../../db/migrate.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending SQL migrations in order (each in a transaction; safe to run concurrently)')
    .action(async () => {
      const cfg = loadConfig();
      const admin = await connectClient(cfg, 'postgres');
      try {
        if (await ensureDatabase(admin, databaseName(cfg)))
          console.log(`[migrate] created database ${databaseName(cfg)}`);
      } finally {
        await admin.end();
      }
      const client = await connectClient(cfg);
      try {
        const applied = await migrate(client, (line) => console.log(`[migrate] ${line}`));
        console.log(
          `[migrate] ${pgAddress(cfg)}: ${applied.length === 0 ? 'up to date' : `${applied.length} applied`}`,
        );
      } finally {
        await client.end();
      }
    });
}
