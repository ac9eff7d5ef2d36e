import { resolve } from 'node:path';

/** ../shared/samples beside the project root (tests run from the project root). */
export const SAMPLES_DIR = resolve(process.cwd(), '../shared/samples');

/** Every sample a content provider reads today (audio waits for transcription). */
export const TEXT_SAMPLE_FILES = [
  'content/Sample.pdf',
  'content/Sample.docx',
  'content/Sample.md',
  'content/diary_sample.md',
  'small/sample.pdf',
  'small/sample.txt',
  'small/sample.json',
  'small/sample.yaml',
];
