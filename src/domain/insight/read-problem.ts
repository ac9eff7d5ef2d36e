/**
 * What a stored or received model that does not parse is told: where (row, file), the first bad field
 * as `goals[0].priority`, and zod's words for the problem.
 */
import type { z } from 'zod';

export function readProblem(where: string, error: z.ZodError): Error {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
  return new Error(`${where}: ${path || '(root)'}: ${issue?.message ?? 'invalid'}`, { cause: error });
}
