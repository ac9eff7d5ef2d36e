/**
 * Extraction limits per storage tier, read from the environment (src/config/config.ts calls this once).
 * Bigger tiers hold bigger files, which may legitimately expand further, so each limit has a default per
 * tier. `P8FS_LIMIT_<NAME>` overrides it for every tier, `P8FS_LIMIT_<NAME>_<TIER>` for one tier (and
 * wins); the memory ceiling of one extraction process is `P8FS_EXTRACT_MEMORY_MB[_<TIER>]`.
 *
 * | variable                            | small   | medium  | large   | what                                   |
 * | ----------------------------------- | ------- | ------- | ------- | -------------------------------------- |
 * | P8FS_LIMIT_MAX_EXTRACTED_CHARS      | 128 Mi  | 512 Mi  | 2 Gi    | characters of extracted text           |
 * | P8FS_LIMIT_MAX_PAGES                | 5000    | 20000   | 100000  | pages of a PDF                         |
 * | P8FS_LIMIT_MAX_DECOMPRESSED_BYTES   | 256 MiB | 1 GiB   | 4 GiB   | DOCX parts read, PDF flate streams     |
 * | P8FS_LIMIT_MAX_NESTING_DEPTH        | 128     | 128     | 128     | JSON / YAML nesting                    |
 * | P8FS_LIMIT_MAX_YAML_ALIASES         | 1000    | 2000    | 5000    | YAML alias nodes and their expansion   |
 * | P8FS_LIMIT_MAX_LINE_CHARS           | 16 Mi   | 64 Mi   | 256 Mi  | one line of text, markdown or code     |
 * | P8FS_LIMIT_MAX_ARCHIVE_ENTRIES      | 1000    | 5000    | 20000   | files in one ZIP, attachments of a mail |
 * | P8FS_LIMIT_MAX_COMPRESSION_RATIO    | 200     | 200     | 200     | ZIP entry uncompressed ÷ compressed     |
 * | P8FS_LIMIT_MAX_ARCHIVE_DEPTH        | 3       | 3       | 3       | archives unpacked inside archives      |
 * | P8FS_EXTRACT_MEMORY_MB              | 1024    | 2048    | 4096    | RSS and heap ceiling of one extraction |
 *
 * Byte limits accept a KiB/MiB/GiB suffix ("512MiB"); the others are whole numbers.
 */
import { TIERS, type Tier } from '../domain/tiers.js';
import type { ExtractionLimits, LimitName } from '../providers/limits.js';

type Env = Record<string, string | undefined>;
type Values = Record<LimitName, number> & { memoryMb: number };

export interface TierLimits {
  /** What the providers enforce (src/providers/limits.ts), with the variable that set each. */
  extraction: ExtractionLimits;
  /** RSS and V8 heap ceiling of one extraction process, in MiB. */
  memoryMb: number;
  /** The variable that set memoryMb, for the error that names it. */
  memoryVariable: string;
}

export type LimitsConfig = Record<Tier, TierLimits>;

const Mi = 1024 * 1024;

export const LIMIT_DEFAULTS: Readonly<Record<Tier, Values>> = {
  small: {
    maxExtractedChars: 128 * Mi,
    maxPages: 5000,
    maxDecompressedBytes: 256 * Mi,
    maxNestingDepth: 128,
    maxYamlAliases: 1000,
    maxLineChars: 16 * Mi,
    maxArchiveEntries: 1000,
    maxCompressionRatio: 200,
    maxArchiveDepth: 3,
    memoryMb: 1024,
  },
  medium: {
    maxExtractedChars: 512 * Mi,
    maxPages: 20000,
    maxDecompressedBytes: 1024 * Mi,
    maxNestingDepth: 128,
    maxYamlAliases: 2000,
    maxLineChars: 64 * Mi,
    maxArchiveEntries: 5000,
    maxCompressionRatio: 200,
    maxArchiveDepth: 3,
    memoryMb: 2048,
  },
  large: {
    maxExtractedChars: 2048 * Mi,
    maxPages: 100000,
    maxDecompressedBytes: 4096 * Mi,
    maxNestingDepth: 128,
    maxYamlAliases: 5000,
    maxLineChars: 256 * Mi,
    maxArchiveEntries: 20000,
    maxCompressionRatio: 200,
    maxArchiveDepth: 3,
    memoryMb: 4096,
  },
};

interface Rule {
  variable: string;
  min: number;
  max: number;
  bytes?: boolean;
}

// Nesting is followed by recursion in places (rendering, JSON.stringify): its ceiling keeps that far
// from the stack limit. Memory below 128 MiB would not start a Node.js process with pdfjs loaded.
const RULES: Readonly<Record<keyof Values, Rule>> = {
  maxExtractedChars: { variable: 'P8FS_LIMIT_MAX_EXTRACTED_CHARS', min: 1, max: Number.MAX_SAFE_INTEGER },
  maxPages: { variable: 'P8FS_LIMIT_MAX_PAGES', min: 1, max: Number.MAX_SAFE_INTEGER },
  maxDecompressedBytes: {
    variable: 'P8FS_LIMIT_MAX_DECOMPRESSED_BYTES',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    bytes: true,
  },
  maxNestingDepth: { variable: 'P8FS_LIMIT_MAX_NESTING_DEPTH', min: 1, max: 1000 },
  maxYamlAliases: { variable: 'P8FS_LIMIT_MAX_YAML_ALIASES', min: 0, max: Number.MAX_SAFE_INTEGER },
  maxLineChars: { variable: 'P8FS_LIMIT_MAX_LINE_CHARS', min: 1, max: Number.MAX_SAFE_INTEGER },
  maxArchiveEntries: { variable: 'P8FS_LIMIT_MAX_ARCHIVE_ENTRIES', min: 1, max: Number.MAX_SAFE_INTEGER },
  maxCompressionRatio: { variable: 'P8FS_LIMIT_MAX_COMPRESSION_RATIO', min: 1, max: Number.MAX_SAFE_INTEGER },
  maxArchiveDepth: { variable: 'P8FS_LIMIT_MAX_ARCHIVE_DEPTH', min: 0, max: 100 },
  memoryMb: { variable: 'P8FS_EXTRACT_MEMORY_MB', min: 128, max: 1024 * 1024 },
};

const UNITS: Readonly<Record<string, number>> = { kib: 1024, mib: Mi, gib: 1024 * Mi };

function parse(raw: string, rule: Rule): number | undefined {
  const match = (rule.bytes ? /^(\d+)\s*(KiB|MiB|GiB)?$/i : /^(\d+)$/).exec(raw.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (match[2] ? (UNITS[match[2].toLowerCase()] ?? 1) : 1);
  return Number.isSafeInteger(value) && value >= rule.min && value <= rule.max ? value : undefined;
}

/**
 * Limits for every tier: the tier's default, then P8FS_LIMIT_<NAME>, then P8FS_LIMIT_<NAME>_<TIER>.
 * A bad value adds a problem to `problems` that names the variable and what was expected (and the
 * default stays in place), as every other setting does.
 */
export function readLimits(env: Env, problems: string[]): LimitsConfig {
  const read = (variable: string, rule: Rule): number | undefined => {
    const raw = env[variable];
    if (raw === undefined || raw === '') return undefined;
    const value = parse(raw, rule);
    if (value === undefined) {
      const unit = rule.bytes ? ' (bytes, or with a KiB, MiB or GiB suffix)' : '';
      const range =
        rule.max === Number.MAX_SAFE_INTEGER ? `at least ${rule.min}` : `${rule.min} to ${rule.max}`;
      problems.push(`${variable}=${JSON.stringify(raw)} is invalid: expected a whole number ${range}${unit}`);
    }
    return value;
  };
  const keys = Object.keys(RULES) as (keyof Values)[];
  const general = new Map(keys.map((key) => [key, read(RULES[key].variable, RULES[key])]));
  const config = {} as LimitsConfig;
  for (const tier of TIERS) {
    const values = { ...LIMIT_DEFAULTS[tier] };
    const variables: Partial<Record<keyof Values, string>> = {};
    for (const key of keys) {
      const tierVariable = `${RULES[key].variable}_${tier.toUpperCase()}`;
      const specific = read(tierVariable, RULES[key]);
      if (specific !== undefined) {
        values[key] = specific;
        variables[key] = tierVariable;
      } else {
        values[key] = general.get(key) ?? values[key];
      }
    }
    const { memoryMb, ...extraction } = values;
    const { memoryMb: memoryVariable, ...limitVariables } = variables;
    config[tier] = {
      extraction: { ...extraction, variables: limitVariables },
      memoryMb,
      memoryVariable: memoryVariable ?? RULES.memoryMb.variable,
    };
  }
  return config;
}
