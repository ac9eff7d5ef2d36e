/**
 * Transcription of speech segments, whichever backend is configured (P8FS_TRANSCRIPTION):
 * `offline` (offline-transcriber.ts), `openai` (openai-transcriber.ts: any OpenAI-compatible
 * /v1/audio/transcriptions endpoint) or `none`. A backend that cannot run here says so as `unavailable`
 * with its reason, and the audio provider turns that into a metadata section instead of a failure.
 */
import { transcribeOffline } from './offline-transcriber.js';
import { transcribeOpenAi } from './openai-transcriber.js';
import type { TranscriptionConfig } from './settings.js';
import type { SpeechSegment } from './speech-segments.js';
import type { SegmentSink, TranscriptionOutcome } from './transcription-types.js';

export type { SegmentSink, TranscriptionOutcome } from './transcription-types.js';

export async function transcribeSegments(
  pcmPath: string,
  segments: SpeechSegment[],
  settings: TranscriptionConfig,
  fileName: string,
  signal: AbortSignal,
  onSegment: SegmentSink,
): Promise<TranscriptionOutcome> {
  switch (settings.backend) {
    case 'none':
      return { status: 'unavailable', reason: 'transcription is switched off (P8FS_TRANSCRIPTION=none)' };
    case 'openai':
      return transcribeOpenAi(pcmPath, segments, settings, fileName, signal, onSegment);
    case 'offline':
      return transcribeOffline(pcmPath, segments, settings, fileName, signal, onSegment);
  }
}
