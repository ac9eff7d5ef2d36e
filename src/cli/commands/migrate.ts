import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { migrateDatabase } from '../../db/migrate.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending SQL migrations in order (each in a transaction; safe to run concurrently)')
    .action(async () => {
      await migrateDatabase(loadConfig(), (line) => console.log(`[migrate] ${line}`));
    });
}
