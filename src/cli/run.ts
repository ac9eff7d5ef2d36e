// Process entry of `p8fs` (bin/p8fs.js runs the compiled copy; tests run this file through tsx).
// Errors print as one readable message, not a stack dump; P8FS_DEBUG=1 adds the stack.

import { loadConfig } from '../config/config.js';
import { redactSecrets } from '../config/redact.js';
import { errorText } from '../domain/errors.js';
import { main } from './main.js';

/** P8FS_DEBUG through the config module; an invalid environment has already said what is wrong. */
function debugRequested(): boolean {
  try {
    return loadConfig().debug;
  } catch {
    return false;
  }
}

main().catch((error: unknown) => {
  console.error(`p8fs: ${redactSecrets(errorText(error))}`);
  if (debugRequested()) console.error(error);
  process.exitCode = 1;
});
