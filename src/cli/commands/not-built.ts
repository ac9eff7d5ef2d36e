/**
 * Commands users already type (from the seeds) whose workflows are not built yet. They are listed so
 * `p8fs --help` tells the truth, and they say so at run time with exit code 2 instead of pretending.
 * Dream analysis and eval are built now (dream.ts, eval.ts); nothing is registered here at the moment,
 * and the helper stays for the next command that is announced before it exists.
 */
import type { Command } from 'commander';

export function notBuilt(what: string): () => void {
  return () => {
    console.error(
      `p8fs: ${what} is not built yet in this version. See docs/ARCHITECTURE.md ("What comes next").`,
    );
    process.exitCode = 2;
  };
}

export function registerNotBuiltCommands(_program: Command): void {}
