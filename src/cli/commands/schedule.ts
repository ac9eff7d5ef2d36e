/** `p8fs schedule apply|list`: the declared Temporal Schedules (src/schedules/definitions.ts). */
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { applySchedules, listSchedules, serverScheduleIds } from '../../schedules/apply.js';
import { scheduleDefinitions } from '../../schedules/definitions.js';
import { connectTemporal } from '../../temporal/connection.js';

export function registerScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('Temporal Schedules of P8FS: nightly dream batch and housekeeping');
  schedule
    .command('apply')
    .description('Create or update every declared schedule (idempotent)')
    .addHelpText(
      'after',
      `
Declared schedules (src/schedules/definitions.ts; cron in UTC):
  <prefix>-nightly-dreams        P8FS_DREAM_SCHEDULE_CRON (default "0 3 * * *")
  <prefix>-abort-stale-uploads   P8FS_HOUSEKEEPING_UPLOADS_CRON (default "20 * * * *"), uploads older
                                 than P8FS_HOUSEKEEPING_UPLOAD_MAX_AGE_HOURS (24)
  <prefix>-requeue-stuck-files   P8FS_HOUSEKEEPING_STUCK_CRON (default "*/15 * * * *"), files in
                                 processing for P8FS_HOUSEKEEPING_STUCK_AFTER_MINUTES (30)
  <prefix>-trim-dead-letters     P8FS_HOUSEKEEPING_DLQ_CRON (default "40 4 * * *"), dead letters
                                 older than P8FS_DLQ_RETENTION_DAYS (14)
<prefix> is P8FS_TASK_QUEUE_PREFIX (default p8fs). Running apply again updates them in place.`,
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
        const defs = scheduleDefinitions(cfg);
        for (const row of await listSchedules(client, defs)) {
          const state = row.exists
            ? row.paused
              ? 'paused'
              : 'active'
            : 'not applied (run p8fs schedule apply)';
          console.log(
            `${row.id}  ${row.workflowType ?? ''}  cron "${row.cron}"  ${state}${row.nextRuns.length ? `  next ${row.nextRuns.join(', ')}` : ''}`,
          );
          if (row.description) console.log(`    ${row.description}`);
        }
        const declared = new Set(defs.map((d) => d.id));
        for (const id of await serverScheduleIds(client, cfg.temporal.taskQueuePrefix)) {
          if (!declared.has(id))
            console.log(
              `${id}  not declared any more (remove it: temporal schedule delete --schedule-id ${id})`,
            );
        }
      } finally {
        await client.connection.close();
      }
    });
}
