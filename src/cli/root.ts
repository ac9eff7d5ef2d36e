import { Command } from 'commander';
import { versionText } from './version.js';

/** The `p8fs` root command, before any sub-command is registered. */
export function newProgram(): Command {
  return (
    new Command('p8fs')
      .description('P8FS Flows: storage events to durable Temporal workflows (ingestion, dreams, moments)')
      .version(versionText(), '-V, --version', 'print the version of p8fs and of the Temporal SDK it runs')
      // An unknown command or option is an error (exit 1) with a suggestion ("Did you mean status?") and
      // a one-line hint, not a whole help page that hides the error.
      .showSuggestionAfterError(true)
      .showHelpAfterError('(add --help for usage)')
  );
}
