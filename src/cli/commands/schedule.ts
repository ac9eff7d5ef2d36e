/** `p8fs schedule apply|list`: the declared Temporal Schedules (src/schedules/definitions.ts). */
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { applySchedules, listSchedules } from '../../schedules/apply.js';
import { scheduleDefinitions } from '../../schedules/definitions.js';
import { connectTemporal } from '../../temporal/connection.js';

export function registerScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('Temporal Schedules of P8FS (nightly dream batch, …)');
  schedule
    .command('apply')
    .description('Create or update every declared schedule (idempotent)')
    .addHelpText(
      'after',
      '\nThe nightly dream batch runs at P8FS_DREAM_SCHEDULE_CRON (UTC, default "0 3 * * *").',
    )
    .action(async () => {
      const cfg = loadConfig();
      const client = await connectTemporal(cfg);
      try {
        for (const r of await applySchedules(client, scheduleDefinitions(cfg)))
          console.log(`${r.action} ${r.id}`);
      } finally {
        await client.connection.close();
      }
    });
  schedule
    .command('list')
    .description('Show the declared schedules and their state on the server')
    .action(async () => {
      const cfg = loadConfig();
      const client = await connectTemporal(cfg);
      try {
        for (const row of await listSchedules(client, scheduleDefinitions(cfg))) {
          const state = row.exists
            ? row.paused
              ? 'paused'
              : 'active'
            : 'not applied (run p8fs schedule apply)';
          console.log(
            `${row.id}  ${row.workflowType ?? ''}  cron "${row.cron}"  ${state}${row.nextRuns.length ? `  next ${row.nextRuns.join(', ')}` : ''}`,
          );
        }
      } finally {
        await client.connection.close();
      }
    });
}
