import type { Command } from 'commander';
import { withPool } from '../../clients/postgres.js';
import { loadConfig } from '../../config/config.js';
import { migrateDatabase } from '../../db/migrate.js';
import { rekeyFiles } from '../../db/rekey.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending SQL migrations in order (each in a transaction; safe to run concurrently)')
    .option(
      '--rekey',
      "after migrating, give the files and resources rows earlier releases wrote the original P8FS's ids, names and uri (moments and errors follow); one transaction per file, idempotent, safe while workers run",
    )
    .action(async (options: { rekey?: boolean }) => {
      const cfg = loadConfig();
      await migrateDatabase(cfg, (line) => console.log(`[migrate] ${line}`));
      if (options.rekey)
        await withPool(cfg, (pool) => rekeyFiles(pool, (line) => console.log(`[rekey] ${line}`)));
    });
}
