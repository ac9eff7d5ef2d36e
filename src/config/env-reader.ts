/**
 * Reads declared variables (variable.ts) from an environment, recording a readable problem for each bad
 * value instead of throwing, so `loadConfig()` can report every bad variable at once.
 */
import type { z } from 'zod';
import { isSecretVariable, REDACTED, redactSecrets, redactUrl } from './redact.js';
import type { Defaulted, Fallback, Variable } from './variable.js';

/** The values of a table of declarations, field by field: defaulted ones always have a value. */
export type ValuesOf<V> = {
  [K in keyof V]: V[K] extends Defaulted<infer T>
    ? T
    : V[K] extends Variable<infer T>
      ? T | undefined
      : never;
};

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    // Values are redacted where they are read; this is the last line of defence for any other text.
    const redacted = problems.map(redactSecrets);
    super(`Invalid configuration:\n${redacted.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = redacted;
  }
}

const resolve = (fallback: Fallback | undefined): string | undefined =>
  typeof fallback === 'function' ? fallback() : fallback;

export class EnvReader {
  readonly problems: string[] = [];
  constructor(readonly env: Env) {}

  /** An empty value counts as unset, as shells and compose files leave them. */
  isSet(variable: string): boolean {
    const raw = this.env[variable];
    return raw !== undefined && raw !== '';
  }

  /**
   * A declared variable under the first of its names that is set (its own name first), else its
   * default; `fallback` replaces the declared default when that depends on other settings.
   */
  read<T>(variable: Defaulted<T>, fallback?: string): T;
  read<T>(variable: Variable<T>, fallback?: string): T | undefined;
  read<T>(variable: Variable<T>, fallback?: string): T | undefined {
    const [winner, ...others] = [variable.name, ...(variable.aliases ?? [])].filter((n) => this.isSet(n));
    if (variable.validateAliases) for (const other of others) this.get(other, variable.schema);
    return this.get(winner ?? variable.name, variable.schema, fallback ?? resolve(variable.fallback));
  }

  /** Every declaration of a table, under its field name; `fallbacks` replace declared defaults. */
  readAll<V extends Record<string, Variable<unknown>>>(
    table: V,
    fallbacks: Partial<Record<keyof V, string>> = {},
  ): ValuesOf<V> {
    const entries = Object.entries(table).map(([field, variable]) => [
      field,
      this.read(variable, fallbacks[field as keyof V]),
    ]);
    return Object.fromEntries(entries) as ValuesOf<V>;
  }

  /** One variable through a schema; a bad value is recorded (and yields undefined). */
  get<T>(variable: string, schema: z.ZodType<T>, fallback: string): T;
  get<T>(variable: string, schema: z.ZodType<T>, fallback?: string): T | undefined;
  get<T>(variable: string, schema: z.ZodType<T>, fallback?: string): T | undefined {
    const raw = this.env[variable];
    const value = raw === undefined || raw === '' ? fallback : raw;
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const expected = parsed.error.issues.map((issue) => issue.message).join('; ');
    // A secret is never echoed; a URL is echoed without its password or token.
    const shown = isSecretVariable(variable) ? REDACTED : JSON.stringify(redactUrl(value));
    this.problems.push(`${variable}=${shown} is invalid: expected ${expected}`);
    return undefined as T | undefined;
  }
}
