/**
 * Builds the retrieval evaluation's corpus (bench/retrieval/corpus/) from manual pages installed on this
 * Debian machine: each page rendered by man-db (no hyphenation, no justification, 80 columns), overstrikes
 * removed with `col -bx`, and turned into Markdown (the page's sections and subsections become headings,
 * so chunks carry a heading like any uploaded document). manifest.json records, per document, its
 * source (page, Debian package and version) and licence. The corpus is committed; this script is how it
 * was made, and how to make it again on another Debian 12 machine (the text follows the package versions).
 *
 * Run: npx tsx bench/retrieval/build-corpus.ts
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const CORPUS = path.join(HERE, 'corpus');

interface Source {
  page: string;
  section: string;
  /** The document's subject in a few words, for people reading the manifest. */
  topic: string;
  /** The licence, when the page's source does not state it (then its package's copyright file does). */
  licence?: string;
}

// Distinct subjects, so that each question has one right document. Pages from the Linux man-pages
// project carry an SPDX line; the others' licence is read from /usr/share/doc/<package>/copyright.
const SOURCES: Source[] = [
  { page: 'signal', section: '7', topic: 'signals sent to processes' },
  { page: 'pipe', section: '7', topic: 'pipes and FIFOs' },
  { page: 'inotify', section: '7', topic: 'watching files for changes' },
  { page: 'namespaces', section: '7', topic: 'isolating processes (namespaces)' },
  { page: 'random', section: '7', topic: 'kernel random number sources' },
  { page: 'utf-8', section: '7', topic: 'the UTF-8 encoding' },
  { page: 'hier', section: '7', topic: 'the file system layout' },
  { page: 'glob', section: '7', topic: 'wildcard pathname patterns' },
  {
    page: 'regex',
    section: '7',
    topic: 'POSIX regular expressions',
    licence: "Henry Spencer's permissive regex licence (stated in the page's source)",
  },
  { page: 'boot', section: '7', topic: 'how the system starts up' },
  { page: 'symlink', section: '7', topic: 'symbolic links' },
  { page: 'futex', section: '7', topic: 'fast user-space locking' },
  { page: 'units', section: '7', topic: 'decimal and binary unit prefixes' },
  { page: 'mailaddr', section: '7', topic: 'mail addressing' },
  { page: 'math_error', section: '7', topic: 'errors in mathematical functions' },
  { page: 'locale', section: '7', topic: 'localisation (locales)' },
  { page: 'uri', section: '7', topic: 'URIs and URLs' },
  { page: 'sched', section: '7', topic: 'CPU scheduling policies' },
  { page: 'xattr', section: '7', topic: 'extended file attributes' },
  { page: 'udp', section: '7', topic: 'the UDP protocol' },
  {
    page: 'fstab',
    section: '5',
    topic: 'the table of file systems to mount',
    licence: 'GPL-2.0-or-later (util-linux, package mount copyright file)',
  },
  { page: 'hosts', section: '5', topic: 'static host names table' },
  { page: 'tzfile', section: '5', topic: 'time zone information files' },
  { page: 'core', section: '5', topic: 'core dump files' },
  {
    page: 'crypt',
    section: '5',
    topic: 'password hashing formats',
    licence: 'public domain (the page says no copyright is claimed)',
  },
  {
    page: 'limits.conf',
    section: '5',
    topic: 'per-user resource limits (PAM)',
    licence: 'BSD-3-Clause or GPL (libpam-modules copyright file)',
  },
  {
    page: 'gitignore',
    section: '5',
    topic: 'files git should not track',
    licence: 'GPL-2.0 (git-man copyright file)',
  },
  {
    page: 'bzip2',
    section: '1',
    topic: 'block-sorting file compression',
    licence: 'bzip2 BSD-variant licence (bzip2 copyright file)',
  },
  {
    page: 'dd',
    section: '1',
    topic: 'copying and converting raw data',
    licence: 'GPL-3.0-or-later (coreutils)',
  },
  {
    page: 'shred',
    section: '1',
    topic: 'overwriting files so they cannot be recovered',
    licence: 'GPL-3.0-or-later (coreutils)',
  },
  {
    page: 'espeak-ng',
    section: '1',
    topic: 'text-to-speech synthesis',
    licence: 'GPL-3.0-or-later (espeak-ng copyright file)',
  },
  {
    page: 'tesseract',
    section: '1',
    topic: 'optical character recognition',
    licence: 'Apache-2.0 (tesseract-ocr copyright file)',
  },
  {
    page: 'badblocks',
    section: '8',
    topic: 'finding damaged disk sectors',
    licence: 'GPL-2.0 (e2fsprogs copyright file)',
  },
  {
    page: 'bc',
    section: '1',
    topic: 'an arbitrary-precision calculator language',
    licence: 'GPL-2.0-or-later (bc copyright file)',
  },
  {
    page: 'hwclock',
    section: '8',
    topic: 'the hardware clock',
    licence: 'GPL-2.0-or-later (util-linux-extra copyright file)',
  },
];

function run(command: string, args: string[], input?: string): string {
  return execFileSync(command, args, {
    encoding: 'utf8',
    input,
    env: { ...process.env, MANWIDTH: '80', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', MAN_KEEP_FORMATTING: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The rendered page as Markdown: sections become `##`, subsections `###`, body indentation removed. */
export function manToMarkdown(rendered: string, title: string): string {
  const lines = rendered.replace(/\r/g, '').split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  let last = lines.length - 1;
  while (last > first && (lines[last] ?? '').trim() === '') last--;
  const out = [`# ${title}`, ''];
  for (const line of lines.slice(first + 1, last)) {
    if (line.trim() === '') out.push('');
    else if (/^\S/.test(line)) out.push('', `## ${line.trim()}`, '');
    else if (/^ {3}\S/.test(line)) out.push('', `### ${line.trim()}`, '');
    // Indentation is layout in a manual page but would be read as code or nesting in Markdown.
    else out.push(line.trim());
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

function packageOf(file: string): { name: string; version: string } {
  const name = (run('dpkg', ['-S', file]).split(':')[0] ?? '').trim();
  const version = run('dpkg-query', ['-W', `-f=\${Version}`, name]).trim();
  return { name, version };
}

/** The licence the page's own source states: an SPDX line, else the man-pages project's licence tag. */
function licenceInPage(file: string): string | undefined {
  const source = gunzipSync(readFileSync(file)).toString('utf8');
  const spdx = /SPDX-License-Identifier:\s*(\S+)/.exec(source)?.[1];
  if (spdx) return spdx;
  const tag = /%%%LICENSE_START\(([A-Z_0-9]+)\)/.exec(source)?.[1];
  return tag ? `man-pages licence tag ${tag} (its text is in the page's source)` : undefined;
}

function build(): void {
  rmSync(CORPUS, { recursive: true, force: true });
  mkdirSync(CORPUS, { recursive: true });
  const documents = SOURCES.map((s) => {
    const pageFile = run('man', ['-w', s.section, s.page]).trim();
    const rendered = run('col', ['-bx'], run('man', ['--nh', '--nj', '-P', 'cat', s.section, s.page]));
    const nameLine = /\nNAME\n\s+(.+)\n/.exec(rendered)?.[1]?.trim() ?? s.page;
    const markdown = manToMarkdown(rendered, `${s.page}(${s.section}): ${nameLine}`);
    const file = `${s.page}.${s.section}.md`;
    writeFileSync(path.join(CORPUS, file), markdown);
    const pkg = packageOf(pageFile);
    const licence = s.licence ?? licenceInPage(pageFile);
    if (!licence) throw new Error(`${pageFile}: no SPDX line and no licence given in SOURCES`);
    return {
      id: `${s.page}.${s.section}`,
      file,
      topic: s.topic,
      source: `${pageFile} (Debian package ${pkg.name} ${pkg.version}), rendered with man --nh --nj, col -bx`,
      licence,
      bytes: Buffer.byteLength(markdown),
      sha256: createHash('sha256').update(markdown).digest('hex'),
    };
  });
  writeFileSync(path.join(HERE, 'manifest.json'), `${JSON.stringify({ documents }, null, 2)}\n`);
  const total = documents.reduce((sum, d) => sum + d.bytes, 0);
  console.log(`${documents.length} documents, ${(total / 1024).toFixed(0)} KiB, in ${CORPUS}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname))
  build();
