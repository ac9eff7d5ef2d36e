/**
 * Audio (WAV, MP3, M4A, FLAC, OGG) → transcript sections, as P8FS did: decode to 16 kHz mono PCM with
 * ffmpeg (media/decode.ts), split on silence (media/speech-segments.ts: −35 dBFS, segments 0.5–30 s,
 * gaps under 3 s merged), transcribe each segment (media/transcriber.ts) and write one section per
 * segment: `[12.0s - 40.0s]: text`, kind `transcript`, source `transcription`, with its time range.
 *
 * Where no transcription backend can run (P8FS_TRANSCRIPTION=none, the engine not installed, no API key)
 * the file still completes, with one metadata section that says so and why: never a silent skip, never
 * a failed workflow for a type we support. Audio in which nothing was recognised gets one transcript
 * section saying so over the file's time range, so the file is found and the reason is plain.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExtractedDocument, ExtractedSection } from '../../domain/content.js';
import { CorruptFileError } from '../../domain/errors.js';
import { checkExtractedChars } from '../limits.js';
import { decodeToPcm, probeAudio } from '../media/decode.js';
import { mediaSettings } from '../media/settings.js';
import { frameLevels, type SpeechSegment, speechSegments, timeRange } from '../media/speech-segments.js';
import { withTempDir } from '../media/tools.js';
import { transcribeSegments } from '../media/transcriber.js';
import type { ContentProvider, ProviderContext, SourceFile } from '../provider.js';

export const audioProvider: ContentProvider = {
  name: 'audio',
  version: '1.0.0',
  mimeTypes: [
    'audio/wav',
    'audio/x-wav',
    'audio/wave',
    'audio/vnd.wave',
    'audio/mpeg',
    'audio/mp3',
    'audio/mp4',
    'audio/x-m4a',
    'audio/m4a',
    'audio/flac',
    'audio/x-flac',
    'audio/ogg',
    'audio/vorbis',
    'audio/opus',
  ],
  extensions: ['.wav', '.mp3', '.m4a', '.flac', '.ogg', '.oga', '.opus'],
  extract: extractAudio,
};

async function extractAudio(file: SourceFile, ctx: ProviderContext): Promise<ExtractedDocument> {
  const { name } = file;
  const { signal, log } = ctx;
  const { limits } = ctx.config;
  const media = mediaSettings(ctx.config);
  signal.throwIfAborted();
  const { size } = await stat(file.path);
  if (size === 0) throw new CorruptFileError(`${name} is empty (0 bytes), not audio`);

  return withTempDir('audio', async (dir) => {
    const probe = await probeAudio(file.path, name, media, signal);
    const pcmPath = join(dir, 'audio.pcm');
    const durationSeconds = await decodeToPcm(file.path, name, pcmPath, probe, media, limits, signal);
    ctx.heartbeat({ step: 'decoded', seconds: round1(durationSeconds) });
    const levels = await frameLevels(pcmPath, signal, (seconds) =>
      ctx.heartbeat({ step: 'segmenting', seconds: round1(seconds), of: round1(durationSeconds) }),
    );
    const segments = speechSegments(levels, durationSeconds);
    const metadata: Record<string, unknown> = {
      durationSeconds: round1(durationSeconds),
      ...(probe.format ? { format: probe.format } : {}),
      ...(probe.codec ? { codec: probe.codec } : {}),
      ...(probe.sampleRate ? { sampleRate: probe.sampleRate } : {}),
      ...(probe.channels ? { channels: probe.channels } : {}),
      speechSegments: segments.length,
    };
    if (segments.length === 0) {
      // Nothing above −35 dBFS: no engine is started for silence.
      metadata.transcription = { status: 'no-speech' };
      const whole = { startSeconds: 0, endSeconds: round1(durationSeconds) };
      return {
        provider: 'audio',
        sections: [
          {
            text: `${timeRange(whole)}: (no speech: the audio stays below -35 dBFS)`,
            kind: 'transcript',
            source: 'transcription',
            ...whole,
            metadata: { noSpeech: true },
          },
        ],
        metadata,
      };
    }
    const sections: ExtractedSection[] = [];
    let characters = 0;
    const outcome = await transcribeSegments(
      pcmPath,
      segments,
      media.transcription,
      name,
      signal,
      (index, text) => {
        const segment = segments[index] as SpeechSegment;
        ctx.heartbeat({ step: 'transcribing', segment: index + 1, of: segments.length });
        const words = text.replace(/\s+/g, ' ').trim();
        if (!words) return;
        const line = `${timeRange(segment)}: ${words}`;
        characters += line.length;
        checkExtractedChars(name, limits, characters);
        sections.push({
          text: line,
          kind: 'transcript',
          source: 'transcription',
          startSeconds: segment.startSeconds,
          endSeconds: segment.endSeconds,
          metadata: { segment: index + 1 },
        });
      },
    );

    if (outcome.status === 'unavailable') {
      log.warn('audio not transcribed: no transcription backend', { file: name, reason: outcome.reason });
      metadata.transcription = { status: 'not-configured', reason: outcome.reason };
      return {
        provider: 'audio',
        sections: [
          {
            text: `Audio file ${name}: ${round1(durationSeconds)} s, ${segments.length} speech segment(s); not transcribed because ${outcome.reason}.`,
            kind: 'metadata',
            metadata: { transcription: 'not-configured' },
          },
        ],
        metadata,
      };
    }
    metadata.transcription = {
      status: 'transcribed',
      backend: outcome.backend,
      engine: outcome.engine,
      model: outcome.model,
    };
    for (const section of sections) section.metadata = { ...section.metadata, engine: outcome.engine };
    if (sections.length === 0) {
      // Silence, music or a tone: one honest line over the whole file rather than nothing to find.
      const whole = { startSeconds: 0, endSeconds: round1(durationSeconds) };
      sections.push({
        text: `${timeRange(whole)}: (no speech recognised)`,
        kind: 'transcript',
        source: 'transcription',
        ...whole,
        metadata: { noSpeech: true, engine: outcome.engine },
      });
    }
    return { provider: 'audio', sections, metadata };
  });
}

function round1(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
