// Process entry of `p8fs` (bin/p8fs.js runs the compiled copy; tests run this file through tsx).
// Errors print as one readable message, not a stack dump; P8FS_DEBUG=1 adds the stack.

import { errorText } from '../domain/errors.js';
import { main } from './main.js';

main().catch((error: unknown) => {
  console.error(`p8fs: ${errorText(error)}`);
  if (process.env.P8FS_DEBUG) console.error(error);
  process.exitCode = 1;
});
