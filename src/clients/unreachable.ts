/**
 * One wording for "a server did not answer": which server, where, why, and what to do about it. Someone
 * with nothing running learns the command that starts the local stack; someone whose servers run
 * elsewhere learns the variable that points at them.
 */

/** What to do when the server behind `variable` does not answer. */
export function startHint(variable: string): string {
  return `start the local stack with \`p8fs stack up\`, or set ${variable} to a server that runs`;
}

/** `<server> unreachable: <reason>; <hint>`, keeping the original error as its cause. */
export function unreachableError(server: string, variable: string, reason: string, cause: unknown): Error {
  return new Error(`${server} unreachable: ${reason}; ${startHint(variable)}`, { cause });
}
