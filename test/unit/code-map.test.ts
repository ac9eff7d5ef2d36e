/**
 * The README's code map names every folder under src/ that holds a file, once, and nothing else; and
 * every relative link in README.md and docs/*.md points at a file that exists. Both go stale silently
 * when code moves, so they are checked here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folders under src/ (as `src/a/b`) that hold at least one file, at any depth. */
function sourceFolders(dir = join(root, 'src')): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  const here = entries.some((e) => e.isFile()) ? [relative(root, dir)] : [];
  const below = entries.filter((e) => e.isDirectory()).flatMap((e) => sourceFolders(join(dir, e.name)));
  return [...here, ...below];
}

/** The folders the README's "Code map" section names: the first cell of each table row, `src/…/`. */
function mappedFolders(readme: string): string[] {
  const start = readme.indexOf('\n## Code map');
  expect(start, 'README.md has a "## Code map" section').toBeGreaterThan(-1);
  const rest = readme.slice(start + 1);
  const end = rest.indexOf('\n## ', 1);
  const section = end === -1 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^\| `(src\/[^`]*?)\/?` \|/gm)].map((m) => m[1] as string);
}

describe('README code map', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const mapped = mappedFolders(readme);
  const folders = sourceFolders();

  it('keeps the README a front door: 150 lines at most (details go to docs/)', () => {
    expect(
      readme.split('\n').filter((_, i, all) => i < all.length - 1 || all[i] !== '').length,
    ).toBeLessThanOrEqual(150);
  });

  it('names every folder under src/ that holds a file', () => {
    const missing = folders.filter((f) => !mapped.includes(f));
    expect(missing, 'add a line for each to "## Code map" in README.md').toEqual([]);
  });

  it('names no folder that does not exist, and none twice', () => {
    const extra = mapped.filter((f) => !folders.includes(f));
    expect(
      extra,
      'remove these from "## Code map" in README.md (no such folder, or it holds no file)',
    ).toEqual([]);
    expect(mapped.filter((f, i) => mapped.indexOf(f) !== i)).toEqual([]);
  });

  it('lists the folders in path order', () => {
    expect(mapped).toEqual([...mapped].sort());
  });
});

/** `[text](target)` links of a Markdown file outside code blocks and inline code. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** The anchors GitHub gives a Markdown file's headings (`## The \`p8fs\` command` → `the-p8fs-command`). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const slug = (heading as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

describe('relative links in README.md and docs/', () => {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];

  it.each(files)('%s links only to files and headings that exist', (file) => {
    const path = join(root, file);
    const broken = relativeLinks(readFileSync(path, 'utf8')).filter((target) => {
      const [name = '', fragment] = target.split('#');
      const linked = name === '' ? path : resolve(dirname(path), decodeURIComponent(name));
      if (!existsSync(linked)) return true;
      if (!fragment || !linked.endsWith('.md')) return false;
      return !anchors(readFileSync(linked, 'utf8')).has(decodeURIComponent(fragment).toLowerCase());
    });
    expect(broken).toEqual([]);
  });
});
