/**
 * What every model backend does with an answer: parse it as JSON, run the task's validator, and, when
 * it fails, say precisely what was wrong so the model can be asked again (and the final error names the
 * field).
 */
import { errorText, SchemaViolationError } from '../../../domain/errors.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

export function checkAnswer<T>(raw: unknown, validate: (value: unknown) => T): Checked<T> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      return { ok: false, problem: `the answer is not JSON (${errorText(error)})` };
    }
  }
  try {
    return { ok: true, value: validate(value) };
  } catch (error) {
    return { ok: false, problem: errorText(error) };
  }
}

/** The follow-up message that asks again after a schema failure. */
export function reaskText(problem: string): string {
  return `Your previous answer does not satisfy the required JSON schema: ${problem}. Answer again with one JSON object that satisfies the schema exactly.`;
}

export function schemaViolation(
  task: string,
  provider: string,
  attempts: number,
  problem: string,
): SchemaViolationError {
  return new SchemaViolationError(
    `${task}: the ${provider} model's answer failed the schema ${attempts} time(s) (P8FS_LLM_SCHEMA_RETRIES allows ${attempts - 1} re-ask(s)); last problem: ${problem}`,
  );
}
