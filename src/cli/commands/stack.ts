import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { formatStatus, stackDown, stackStatus, stackUp } from '../../stack/stack.js';

export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description('Run the local stack of real servers: Temporal, NATS JetStream, SeaweedFS, PostgreSQL');

  stack
    .command('up')
    .description(
      'Start every server that is not already answering at its configured address; wait until healthy',
    )
    .action(async () => {
      const cfg = loadConfig();
      const states = await stackUp(cfg, (line) => console.log(`[stack] ${line}`));
      console.log(`\nStack is up (folder ${cfg.stack.dir}):\n${formatStatus(states)}`);
    });

  stack
    .command('down')
    .description('Stop the servers this stack folder started (data is kept; `up` finds it again)')
    .action(async () => {
      await stackDown(loadConfig(), (line) => console.log(`[stack] ${line}`));
    });

  stack
    .command('status')
    .description('Probe each server and print its health and addresses (exit 1 if any is down)')
    .action(async () => {
      const states = await stackStatus(loadConfig());
      console.log(formatStatus(states));
      for (const s of states.filter((x) => x.state === 'down')) console.log(`  ! ${s.detail}`);
      if (states.some((s) => s.state === 'down')) process.exitCode = 1;
    });
}
