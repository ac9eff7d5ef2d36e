import type { ExtractedSection } from '../../domain/content.js';
import { CorruptFileError } from '../../domain/errors.js';
import { openPackage, packageFailure, readPart } from '../helpers/office-package.js';
import { xmlTokens } from '../helpers/xml-tokens.js';
import type { BoundedZip } from '../helpers/zip.js';
import { checkExtractedChars } from '../limits.js';
import { type ContentProvider, readSourceFile } from '../provider.js';

const WHAT = 'a PPTX presentation';
const TITLE_TYPES = new Set(['title', 'ctrTitle']);
// Placeholders whose text the layout fills in (slide number, date, footer): not the author's words.
const FILLER_TYPES = new Set(['sldNum', 'dt', 'ftr', 'hdr', 'sldImg']);

/**
 * PowerPoint (PPTX) slide by slide, in the order the presentation lists them: the slide title (its
 * title placeholder) becomes the heading, the other shapes' paragraphs and table rows the text, and
 * the speaker notes a section of their own; every section carries its 1-based slide number. Slide XML
 * is read through the bounded ZIP reader (zip.ts), so the decompressed-bytes limit holds.
 */
export const pptxProvider: ContentProvider = {
  name: 'pptx',
  version: '1.0.0',
  mimeTypes: ['application/vnd.openxmlformats-officedocument.presentationml.presentation'],
  extensions: ['.pptx'],
  async extract(file, ctx) {
    const { name } = file;
    const buffer = await readSourceFile(file, ctx.signal);
    const zip = openPackage(buffer, name, WHAT, ctx);
    try {
      const slides = await slideParts(zip);
      if (slides.length === 0 && !zip.exists('ppt/presentation.xml')) {
        throw new CorruptFileError(`${name} is damaged or not ${WHAT} (no ppt/presentation.xml)`);
      }
      const sections: ExtractedSection[] = [];
      let characters = 0;
      for (const [index, part] of slides.entries()) {
        ctx.signal.throwIfAborted();
        const slide = index + 1;
        const xml = await readPart(zip, part);
        if (xml === undefined) continue;
        const { title, lines } = slideText(xml);
        const heading = title || undefined;
        if (title) sections.push({ text: title, kind: 'heading', slide, heading: title });
        if (lines.length) {
          sections.push({
            text: lines.join('\n'),
            kind: 'paragraph',
            slide,
            ...(heading ? { heading } : {}),
          });
        }
        const notesPart = await relatedPart(zip, part, 'notesSlide');
        const notesXml = notesPart ? await readPart(zip, notesPart) : undefined;
        const notes = notesXml ? slideText(notesXml).lines : [];
        if (notes.length) {
          sections.push({
            text: notes.join('\n'),
            kind: 'paragraph',
            slide,
            ...(heading ? { heading } : {}),
            metadata: { notes: true },
          });
        }
        characters = sections.reduce((n, s) => n + s.text.length, 0);
        checkExtractedChars(name, ctx.config.limits, characters);
        ctx.heartbeat({ slide, of: slides.length });
      }
      const title = sections.find((s) => s.kind === 'heading')?.text;
      return {
        provider: 'pptx',
        sections,
        metadata: { slides: slides.length, ...(title ? { title } : {}) },
      };
    } catch (err) {
      throw packageFailure(name, WHAT, err, ctx);
    }
  },
};

/** The slide parts in presentation order (presentation.xml's sldIdLst), else by their number. */
async function slideParts(zip: BoundedZip): Promise<string[]> {
  const presentation = await readPart(zip, 'ppt/presentation.xml');
  const rels = await relationships(zip, 'ppt/presentation.xml');
  const ordered: string[] = [];
  if (presentation) {
    for (const token of xmlTokens(presentation)) {
      if (token.kind !== 'open' || token.name !== 'p:sldId') continue;
      const target = rels.get(token.attrs['r:id'] ?? '');
      if (target && zip.exists(target)) ordered.push(target);
    }
  }
  if (ordered.length > 0) return ordered;
  const number = (part: string) => Number(/(\d+)\.xml$/.exec(part)?.[1] ?? 0);
  return zip
    .names()
    .filter((n) => /^ppt\/slides\/slide\d+\.xml$/.test(n))
    .sort((a, b) => number(a) - number(b));
}

/** A part's relationships: id → target part, resolved against the part's folder. */
async function relationships(zip: BoundedZip, part: string): Promise<Map<string, string>> {
  const folder = part.slice(0, part.lastIndexOf('/'));
  const relsPart = `${folder}/_rels/${part.slice(folder.length + 1)}.rels`;
  const xml = await readPart(zip, relsPart);
  const map = new Map<string, string>();
  if (!xml) return map;
  for (const token of xmlTokens(xml)) {
    if (token.kind !== 'open' || token.name !== 'Relationship') continue;
    const id = token.attrs.Id;
    const target = token.attrs.Target;
    const type = token.attrs.Type ?? '';
    if (id && target && token.attrs.TargetMode !== 'External') {
      map.set(id, resolvePart(folder, target));
      map.set(`type:${type.slice(type.lastIndexOf('/') + 1)}`, resolvePart(folder, target));
    }
  }
  return map;
}

async function relatedPart(zip: BoundedZip, part: string, type: string): Promise<string | undefined> {
  return (await relationships(zip, part)).get(`type:${type}`);
}

function resolvePart(folder: string, target: string): string {
  const parts = target.startsWith('/') ? [] : folder.split('/');
  for (const piece of target.replace(/^\//, '').split('/')) {
    if (piece === '..') parts.pop();
    else if (piece && piece !== '.') parts.push(piece);
  }
  return parts.join('/');
}

/** A slide's (or notes page's) title and its other text, paragraph by paragraph, table rows as "a | b". */
export function slideText(xml: string): { title: string; lines: string[] } {
  let title = '';
  const lines: string[] = [];
  let shape: { type: string; lines: string[] } | undefined;
  let paragraph = '';
  let inText = false;
  let row: string[] | undefined;
  let cell: string[] | undefined;
  const endParagraph = () => {
    const text = paragraph.replace(/[ \t]+/g, ' ').trim();
    paragraph = '';
    if (!text) return;
    if (cell) cell.push(text);
    else if (shape) shape.lines.push(text);
    else lines.push(text);
  };
  for (const token of xmlTokens(xml)) {
    if (token.kind === 'text') {
      if (inText) paragraph += token.text;
      continue;
    }
    const open = token.kind === 'open';
    switch (token.name) {
      case 'p:sp':
        if (open && !token.selfClosing) shape = { type: '', lines: [] };
        else if (!open && shape) {
          if (TITLE_TYPES.has(shape.type) && !title) title = shape.lines.join(' ');
          else if (!FILLER_TYPES.has(shape.type)) lines.push(...shape.lines);
          shape = undefined;
        }
        break;
      case 'p:ph':
        if (open && shape) shape.type = token.attrs.type ?? 'body';
        break;
      case 'a:t':
        inText = open && !token.selfClosing;
        break;
      case 'a:br':
        paragraph += '\n';
        break;
      case 'a:tab':
        paragraph += '\t';
        break;
      case 'a:p':
        if (!open || token.selfClosing) endParagraph();
        break;
      case 'a:tr':
        if (open) row = [];
        else if (row) {
          if (row.some((c) => c)) lines.push(row.join(' | '));
          row = undefined;
        }
        break;
      case 'a:tc':
        if (open && !token.selfClosing) cell = [];
        else if (cell) {
          endParagraph();
          row?.push(cell.join(' ').replace(/\|/g, '/'));
          cell = undefined;
        }
        break;
      default:
        break;
    }
  }
  endParagraph();
  return { title, lines };
}
