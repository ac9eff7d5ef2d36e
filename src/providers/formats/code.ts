import type { ExtractedSection } from '../../domain/content.js';
import { fileExtension } from '../../domain/provider-catalog.js';
import { readUtf8File } from '../helpers/read-text.js';
import type { ContentProvider } from '../provider.js';

// Extension → language name, for search hits ("python", "go") and for the chunk metadata.
const LANGUAGES: ReadonlyMap<string, string> = new Map([
  ['.ts', 'typescript'],
  ['.tsx', 'typescript'],
  ['.js', 'javascript'],
  ['.mjs', 'javascript'],
  ['.cjs', 'javascript'],
  ['.jsx', 'javascript'],
  ['.py', 'python'],
  ['.go', 'go'],
  ['.rs', 'rust'],
  ['.java', 'java'],
  ['.kt', 'kotlin'],
  ['.c', 'c'],
  ['.h', 'c'],
  ['.cc', 'cpp'],
  ['.cpp', 'cpp'],
  ['.hpp', 'cpp'],
  ['.cs', 'csharp'],
  ['.rb', 'ruby'],
  ['.php', 'php'],
  ['.swift', 'swift'],
  ['.scala', 'scala'],
  ['.sh', 'shell'],
  ['.bash', 'shell'],
  ['.sql', 'sql'],
]);

/**
 * Source code: one `code` section per blank-line-separated block (a function, a class, a group of
 * imports), so the chunker cuts between blocks and by lines inside them, never inside a line. The
 * language, from the extension, is in the document's metadata.
 */
export const codeProvider: ContentProvider = {
  name: 'code',
  version: '1.0.0',
  mimeTypes: [
    'text/x-typescript',
    'text/javascript',
    'application/javascript',
    'text/x-python',
    'text/x-go',
    'text/x-rust',
    'text/x-java-source',
    'text/x-c',
    'text/x-c++',
    'text/x-csharp',
    'text/x-ruby',
    'application/x-httpd-php',
    'text/x-shellscript',
    'application/x-sh',
    'application/sql',
  ],
  extensions: [...LANGUAGES.keys()],
  async extract(file, ctx) {
    const text = await readUtf8File(file, ctx);
    const sections: ExtractedSection[] = text
      .split(/\n[ \t]*\n/)
      .map((block) => block.replace(/\s+$/, '').replace(/^\n+/, ''))
      .filter((block) => block.trim().length > 0)
      .map((block) => ({ text: block, kind: 'code' }));
    const language = LANGUAGES.get(fileExtension(file.name)) ?? 'unknown';
    return {
      provider: 'code',
      sections,
      metadata: { language, characters: text.length, lines: text.split('\n').length },
    };
  },
};
