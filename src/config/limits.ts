/**
 * Extraction limits per storage tier, read from the environment (src/config/config.ts calls this once).
 * Bigger tiers hold bigger files, which may legitimately expand further, so each limit has a default per
 * tier. `P8FS_LIMIT_<NAME>` overrides it for every tier, `P8FS_LIMIT_<NAME>_<TIER>` for one tier (and
 * wins); the memory ceiling of one extraction process is `P8FS_EXTRACT_MEMORY_MB[_<TIER>]`.
 *
 * RULES and LIMIT_DEFAULTS below are also the table of docs/CONFIGURATION.md (LIMITS_SECTION).
 *
 * Byte limits accept a KiB/MiB/GiB suffix ("512MiB"); the others are whole numbers.
 */
import { TIERS, type Tier } from '../domain/tiers.js';
import type { ExtractionLimits, LimitName } from '../providers/limits.js';
import type { Env } from './env-reader.js';
import type { DocRow, Section } from './variable.js';

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
  /** What the limit bounds, for docs/CONFIGURATION.md. */
  meaning: string;
}

const UNLIMITED = Number.MAX_SAFE_INTEGER;

// Nesting is followed by recursion in places (rendering, JSON.stringify): its ceiling keeps that far
// from the stack limit. Memory below 128 MiB would not start a Node.js process with pdfjs loaded.
const RULES: Readonly<Record<keyof Values, Rule>> = {
  maxExtractedChars: {
    variable: 'P8FS_LIMIT_MAX_EXTRACTED_CHARS',
    min: 1,
    max: UNLIMITED,
    meaning: 'characters of text one file may yield',
  },
  maxPages: { variable: 'P8FS_LIMIT_MAX_PAGES', min: 1, max: UNLIMITED, meaning: 'pages of a PDF' },
  maxDecompressedBytes: {
    variable: 'P8FS_LIMIT_MAX_DECOMPRESSED_BYTES',
    min: 1,
    max: UNLIMITED,
    bytes: true,
    meaning: 'bytes a file may expand to (DOCX parts, PDF flate streams); units accepted (`512MiB`)',
  },
  maxNestingDepth: {
    variable: 'P8FS_LIMIT_MAX_NESTING_DEPTH',
    min: 1,
    max: 1000,
    meaning: 'nesting of JSON and YAML',
  },
  maxYamlAliases: {
    variable: 'P8FS_LIMIT_MAX_YAML_ALIASES',
    min: 0,
    max: UNLIMITED,
    meaning: 'YAML alias nodes (the "billion laughs")',
  },
  maxLineChars: {
    variable: 'P8FS_LIMIT_MAX_LINE_CHARS',
    min: 1,
    max: UNLIMITED,
    meaning: 'characters in one line of a text, Markdown or code file',
  },
  maxArchiveEntries: {
    variable: 'P8FS_LIMIT_MAX_ARCHIVE_ENTRIES',
    min: 1,
    max: UNLIMITED,
    meaning:
      'files one ZIP (or attachments one e-mail) may hold; each becomes a file of its own (docs/CONTENT.md)',
  },
  maxCompressionRatio: {
    variable: 'P8FS_LIMIT_MAX_COMPRESSION_RATIO',
    min: 1,
    max: UNLIMITED,
    meaning: 'uncompressed ÷ compressed size of a ZIP entry of 1 MiB or more (zip bombs)',
  },
  maxArchiveDepth: {
    variable: 'P8FS_LIMIT_MAX_ARCHIVE_DEPTH',
    min: 0,
    max: 100,
    meaning: "archives unpacked inside archives (a member's key holds one `.parts/` per level)",
  },
  memoryMb: {
    variable: 'P8FS_EXTRACT_MEMORY_MB',
    min: 128,
    max: 1024 * 1024,
    meaning:
      'memory ceiling of the extraction process (V8 heap and RSS); crossing it stops the extraction, not the worker',
  },
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
      const range = rule.max === UNLIMITED ? `at least ${rule.min}` : `${rule.min} to ${rule.max}`;
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

/** A default as people read it: 256 MiB, 2 Gi (characters), 5000. */
function shownValue(value: number, rule: Rule): string {
  const Gi = 1024 * Mi;
  const suffix = rule.bytes ? 'iB' : 'i';
  if (value >= Gi && value % Gi === 0) return `${value / Gi} G${suffix}`;
  if (value >= Mi && value % Mi === 0) return `${value / Mi} M${suffix}`;
  return String(value);
}

const limitRows = (Object.keys(RULES) as (keyof Values)[]).map((key): DocRow => {
  const rule = RULES[key];
  const values = TIERS.map((tier) => shownValue(LIMIT_DEFAULTS[tier][key], rule));
  return {
    names: [rule.variable],
    shown: new Set(values).size === 1 ? (values[0] ?? '') : values.join(' / '),
    meaning: rule.meaning,
  };
});

export const LIMITS_SECTION: Section = {
  title: 'Extraction limits',
  about: `What one file may expand to while its text is extracted. Defaults are per tier, ${TIERS.join(' / ')} (one value: the same for every tier); byte limits accept a KiB, MiB or GiB suffix, the others are whole numbers.`,
  variables: [],
  rows: [
    ...limitRows,
    {
      names: ['P8FS_LIMIT_…_SMALL|MEDIUM|LARGE', 'P8FS_EXTRACT_MEMORY_MB_SMALL|…'],
      shown: '–',
      meaning:
        "one tier's value, winning over the general variable. Crossing any limit fails the file at once with a non-retryable error naming the limit, its variable and the file",
    },
  ],
};
