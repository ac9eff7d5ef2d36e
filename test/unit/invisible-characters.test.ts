/**
 * Names that hide what they say are refused (issue 25): C1 controls, bidi overrides and isolates,
 * zero-width characters, each named by code point and position; a storage event whose key carries one
 * (plain or percent-encoded) is rejected with that reason, so the bridge dead-letters it (never lost);
 * the API's upload names are stored in NFC.
 */
import { describe, expect, it } from 'vitest';
import type { ApiDeps } from '../../src/api/deps.js';
import { ApiProblem } from '../../src/api/problems.js';
import { uploadTarget } from '../../src/api/routes/files.js';
import { loadConfig } from '../../src/config/config.js';
import { invisibleCharacterIn } from '../../src/domain/invisible-characters.js';
import { parseStorageEvent } from '../../src/domain/storage-event.js';

describe('invisible characters in names', () => {
  it('names each refused character by code point and position', () => {
    expect(invisibleCharacterIn('report.pdf')).toBeUndefined();
    expect(invisibleCharacterIn('café – naïve 日本.pdf')).toBeUndefined();
    expect(invisibleCharacterIn('invoice\u202Efdp.exe')).toBe(
      'U+202E (right-to-left override) at character 8',
    );
    expect(invisibleCharacterIn('a\u2066b')).toBe('U+2066 (left-to-right isolate) at character 2');
    expect(invisibleCharacterIn('pay\u200Bpal')).toBe('U+200B (zero width space) at character 4');
    expect(invisibleCharacterIn('\uFEFFx')).toBe('U+FEFF (zero width no-break space (BOM)) at character 1');
    expect(invisibleCharacterIn('x\u2060')).toBe('U+2060 (word joiner) at character 2');
    expect(invisibleCharacterIn('a\u0085b')).toBe('U+0085 (C1 control character) at character 2');
    expect(invisibleCharacterIn('a\u009Fb')).toBe('U+009F (C1 control character) at character 2');
    // Positions count characters, not UTF-16 units: an emoji before it is one.
    expect(invisibleCharacterIn('😀\u202Dx')).toBe('U+202D (left-to-right override) at character 2');
  });

  it('a storage event with one in its key is rejected with the reason (dead-lettered, not lost)', () => {
    for (const [key, code] of [
      ['uploads/invoice\u202Efdp.exe', 'U+202E'],
      ['uploads/pay\u200Bpal.pdf', 'U+200B'],
      ['uploads/a\u0085b.txt', 'U+0085'],
      ['uploads/invoice%E2%80%AEfdp.exe', 'U+202E'],
    ] as const) {
      const outcome = parseStorageEvent({ event_type: 'create', path: `/buckets/tenant-x/${key}` });
      expect(outcome.kind, key).toBe('reject');
      if (outcome.kind === 'reject') expect(outcome.reason).toContain(code);
    }
    expect(parseStorageEvent({ event_type: 'create', path: '/buckets/tenant-x/uploads/café.pdf' }).kind).toBe(
      'event',
    );
  });

  it('the API refuses such upload names with a 400 naming the character, and stores names in NFC', () => {
    const deps = { cfg: loadConfig({ P8FS_STACK_DIR: '/nonexistent-p8fs-stack' }) } as ApiDeps;
    let refused: unknown;
    try {
      uploadTarget(deps, 'tenant-x', 'uploads', 'invoice\u202Efdp.exe', undefined);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ApiProblem);
    expect((refused as ApiProblem).status).toBe(400);
    expect((refused as ApiProblem).detail).toContain('U+202E (right-to-left override)');
    // "é" as e + combining acute (NFD) and as one character (NFC) are one name, one key.
    const decomposed = uploadTarget(deps, 'tenant-x', 'uploads', 'cafe\u0301.pdf', undefined);
    const composed = uploadTarget(deps, 'tenant-x', 'uploads', 'caf\u00e9.pdf', undefined);
    expect(decomposed.key).toBe('uploads/caf\u00e9.pdf');
    expect(decomposed.key).toBe(composed.key);
  });
});
