/**
 * Commands users already type (from the seeds) whose workflows are not built yet. They are listed so
 * `p8fs --help` tells the truth, and they say so at run time with exit code 2 instead of pretending.
 */
import type { Command } from 'commander';

function notBuilt(what: string): () => void {
  return () => {
    console.error(
      `p8fs: ${what} is not built yet in this version. See docs/ARCHITECTURE.md ("What comes next").`,
    );
    process.exitCode = 2;
  };
}

export function registerNotBuiltCommands(program: Command): void {
  const dream = program.command('dream').description('Dream analysis per tenant (NOT BUILT YET)');
  dream
    .command('start')
    .description('Start dreamAnalysis for a tenant (NOT BUILT YET)')
    .option('--tenant <tenant>')
    .option('--mode <mode>', 'direct | batch')
    .action(notBuilt('dream analysis (dreamAnalysis on p8fs-llm)'));
  dream
    .command('complete')
    .description('Complete pending OpenAI batch dream jobs (NOT BUILT YET)')
    .action(notBuilt('dream completion (OpenAI Batch polling)'));
  program
    .command('eval')
    .description('Run an agent model over a file, e.g. MomentBuilder (NOT BUILT YET)')
    .option('--agent-model <name>')
    .option('--file <file>')
    .option('--format <format>', 'yaml | json')
    .action(notBuilt('agent evaluation (buildMoments / MomentBuilder)'));
}
