/**
 * Settings of the providers that run outside tools (ffmpeg, tesseract, pdftoppm, a speech-to-text
 * engine). src/config/sections/media.ts declares them and fills them from the environment for workers;
 * work outside a worker (tests, benches, tools) gets DEFAULT_MEDIA: the tools on PATH and the project's
 * .stack/venv Python.
 */
import { DEFAULT_MEDIA, type MediaConfig } from '../../config/sections/media.js';

export {
  DEFAULT_MEDIA,
  type MediaConfig,
  type OfflineEngine,
  type TranscriptionBackend,
  type TranscriptionConfig,
} from '../../config/sections/media.js';

/** The media settings of a provider config: the worker's, or the defaults outside a worker. */
export function mediaSettings(config: { media?: MediaConfig }): MediaConfig {
  return config.media ?? { ...DEFAULT_MEDIA, transcription: { ...DEFAULT_MEDIA.transcription } };
}
