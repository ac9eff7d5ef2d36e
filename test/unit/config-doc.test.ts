/**
 * docs/CONFIGURATION.md is generated from the variable declarations (scripts/gen-config-doc.ts): it fails
 * here when a declaration changed without the page being written again, or when loadConfig reads a
 * variable that no declaration documents.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC_PATH, renderConfigDoc } from '../../scripts/config-doc.js';
import { loadConfig, SECTIONS } from '../../src/config/config.js';
import { isSecretVariable, REDACTED } from '../../src/config/redact.js';
import { configProblems as problemsOf } from '../support/config-problems.js';

/** The names loadConfig looks up in an environment (set or not). */
function namesRead(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>(
    {},
    {
      get(target, key) {
        if (typeof key === 'string') read.add(key);
        return Reflect.get(target, key);
      },
    },
  );
  loadConfig(env);
  return read;
}

describe('docs/CONFIGURATION.md', () => {
  const generated = renderConfigDoc();

  it('is what scripts/gen-config-doc.ts writes today', () => {
    const current = existsSync(CONFIG_DOC_PATH) ? readFileSync(CONFIG_DOC_PATH, 'utf8') : '';
    expect(current, 'docs/CONFIGURATION.md is stale: run `make docs` and commit it').toBe(generated);
  });

  it('documents every variable loadConfig reads', () => {
    // One tier's limit (P8FS_LIMIT_MAX_PAGES_LARGE) is documented by its family's row.
    const perTier = /^P8FS_(LIMIT_[A-Z_]+|EXTRACT_MEMORY_MB)_(SMALL|MEDIUM|LARGE)$/;
    const undocumented = [...namesRead()].filter(
      (name) => !perTier.test(name) && !generated.includes(`\`${name}\``),
    );
    expect(undocumented, 'declare these in src/config/sections/ (or add a row) and run `make docs`').toEqual(
      [],
    );
  });

  it('reads every alias it lists, naming the alias when its value is bad', () => {
    const aliases = SECTIONS.flatMap((s) => s.variables).flatMap((v) => v.aliases ?? []);
    expect(aliases.length).toBeGreaterThan(0);
    for (const alias of aliases) {
      // A secret's value is never echoed (the S3 keys' original names are secrets).
      const shown = isSecretVariable(alias) ? REDACTED : '"not valid here"';
      expect(problemsOf({ [alias]: 'not valid here' }).join('\n')).toContain(`${alias}=${shown}`);
    }
  });
});
