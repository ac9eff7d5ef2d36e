/**
 * The declaration of one environment variable: the reader (env-reader.ts) takes its schema and default
 * from it, and docs/CONFIGURATION.md (scripts/gen-config-doc.ts) its name, aliases, default and meaning,
 * so the two cannot drift apart. A new setting is one more entry in its section's table.
 */
import type { z } from 'zod';

/** A default as typed in the environment, or computed when read (then `shown` says it in words). */
export type Fallback = string | (() => string);

export interface Variable<T> {
  readonly name: string;
  /** Older or standard names read when `name` is unset, in this order; `name` wins when both are set. */
  readonly aliases?: readonly string[];
  /** Aliases set beside the winning name are validated too (each under its own name), not ignored. */
  readonly validateAliases?: boolean;
  readonly schema: z.ZodType<T>;
  /** Absent: unset means no value. */
  readonly fallback?: Fallback;
  /** The default as docs/CONFIGURATION.md shows it (Markdown), when the plain value would mislead. */
  readonly shown?: string;
  /** What the variable does (Markdown, one table cell). */
  readonly meaning: string;
}

/** A variable with a default: reading it always yields a value (or records a problem). */
export type Defaulted<T> = Variable<T> & { readonly fallback: Fallback };

/** A documented row that no declaration here reads: a family of names, or one another library reads. */
export interface DocRow {
  readonly names: readonly string[];
  readonly shown: string;
  readonly meaning: string;
}

/** One table of docs/CONFIGURATION.md. */
export interface Section {
  readonly title: string;
  /** A sentence or two under the title (Markdown). */
  readonly about: string;
  readonly variables: readonly Variable<unknown>[];
  /** Rows after the declared variables. */
  readonly rows?: readonly DocRow[];
}

/** The variables of a section's table, in declaration order. */
export const declared = (table: Record<string, Variable<unknown>>) => Object.values(table);
