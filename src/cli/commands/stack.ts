import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { migrateDatabase } from '../../db/migrate.js';
import {
  appProcessStatus,
  currentCliEntry,
  formatAppStatus,
  startAppProcesses,
  stopAppProcesses,
} from '../../stack/app-processes.js';
import { formatStatus, stackDown, stackStatus, stackUp } from '../../stack/stack.js';

export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description(
      'Run the local stack: the servers (Temporal, NATS JetStream, SeaweedFS, PostgreSQL) and our processes (filer subscriber, bridge, workers)',
    );

  stack
    .command('up')
    .description(
      'Start every server that is not already answering, apply pending migrations, then start the filer subscriber, the bridge, the storage workers and the dreaming worker as background processes; wait until each is healthy',
    )
    .option('--servers-only', 'start only the servers (run the bridge, subscriber and workers yourself)')
    .action(async (options: { serversOnly?: boolean }) => {
      const cfg = loadConfig();
      const states = await stackUp(cfg, (line) => console.log(`[stack] ${line}`));
      console.log(`\nServers are up (folder ${cfg.stack.dir}):\n${formatStatus(states)}`);
      // Before any worker starts: against a schema that is missing or behind they would take no work.
      await migrateDatabase(cfg, (line) => console.log(`[stack] database: ${line}`));
      if (options.serversOnly) return;
      const apps = await startAppProcesses(cfg, currentCliEntry(), (line) => console.log(`[stack] ${line}`));
      console.log(`\nProcesses (logs in ${cfg.stack.dir}/logs):\n${formatAppStatus(apps)}`);
      if (apps.some((a) => a.state === 'failed')) {
        process.exitCode = 1;
        return;
      }
      console.log(
        `\nUploads now flow by themselves: put an object into s3://<tenant>/<category>/<file> at ${cfg.s3.endpoint}; \`p8fs status\` shows the way.`,
      );
    });

  stack
    .command('down')
    .description(
      'Stop the processes and servers this stack folder started (data is kept; `up` finds it again)',
    )
    .action(async () => {
      const cfg = loadConfig();
      await stopAppProcesses(cfg, (line) => console.log(`[stack] ${line}`));
      await stackDown(cfg, (line) => console.log(`[stack] ${line}`));
    });

  stack
    .command('status')
    .description(
      'Probe each server and process and print its health and addresses (exit 1 if a server is down)',
    )
    .action(async () => {
      const cfg = loadConfig();
      const states = await stackStatus(cfg);
      console.log(formatStatus(states));
      for (const s of states.filter((x) => x.state === 'down')) console.log(`  ! ${s.detail}`);
      console.log(formatAppStatus(await appProcessStatus(cfg)));
      if (states.some((s) => s.state === 'down')) process.exitCode = 1;
    });
}
