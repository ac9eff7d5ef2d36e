/**
 * The `openai` transcription backend: each speech segment is sent as a small WAV file to an
 * OpenAI-compatible `/v1/audio/transcriptions` endpoint through the `openai` package (OpenAI itself, or
 * a local server such as speaches or whisper.cpp's server at P8FS_TRANSCRIPTION_BASE_URL). Segments are
 * at most 30 s (~1 MB of 16 kHz WAV), far under the API's 25 MB upload limit.
 *
 * Errors: a refused key (401/403) and a rejected request (400/404/413/422) are permanent, as for the
 * LLM clients; rate limits, server errors and lost connections are retried by the SDK and then by
 * Temporal.
 */
import { open } from 'node:fs/promises';
import OpenAI, { toFile } from 'openai';
import { LlmAuthError, LlmRequestRejectedError } from '../../domain/errors.js';
import type { TranscriptionConfig } from './settings.js';
import { BYTES_PER_SECOND, SAMPLE_RATE, type SpeechSegment } from './speech-segments.js';
import type { SegmentSink, TranscriptionOutcome } from './transcription-types.js';

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

export async function transcribeOpenAi(
  pcmPath: string,
  segments: SpeechSegment[],
  settings: TranscriptionConfig,
  fileName: string,
  signal: AbortSignal,
  onSegment: SegmentSink,
): Promise<TranscriptionOutcome> {
  const where = `the transcription API at ${settings.baseUrl}`;
  const loopback = LOOPBACK.test(new URL(settings.baseUrl).hostname);
  if (!settings.apiKey && !loopback) {
    return {
      status: 'unavailable',
      reason: `P8FS_TRANSCRIPTION=openai needs an API key for ${where} (P8FS_TRANSCRIPTION_API_KEY or OPENAI_API_KEY)`,
    };
  }
  const client = new OpenAI({
    // A local server often needs no key; the SDK wants one all the same.
    apiKey: settings.apiKey ?? 'local-server-without-key',
    baseURL: settings.baseUrl,
    maxRetries: 2,
    timeout: 120_000,
  });
  const pcm = await open(pcmPath, 'r');
  try {
    for (const [index, segment] of segments.entries()) {
      signal.throwIfAborted();
      const first = Math.floor(segment.startSeconds * SAMPLE_RATE) * 2;
      const length = Math.floor((segment.endSeconds - segment.startSeconds) * SAMPLE_RATE) * 2;
      const samples = Buffer.alloc(length);
      const { bytesRead } = await pcm.read(samples, 0, length, first);
      const wav = wavFile(samples.subarray(0, bytesRead));
      let text: string;
      try {
        const result = await client.audio.transcriptions.create(
          {
            file: await toFile(wav, `segment-${index + 1}.wav`, { type: 'audio/wav' }),
            model: settings.model,
            response_format: 'json',
            ...(settings.language ? { language: settings.language } : {}),
          },
          { signal },
        );
        text = typeof result === 'string' ? result : (result.text ?? '');
      } catch (error) {
        signal.throwIfAborted();
        throw classify(error, where, fileName, index);
      }
      onSegment(index, text.trim());
    }
  } finally {
    await pcm.close();
  }
  return { status: 'done', backend: 'openai', engine: 'openai', model: settings.model };
}

function classify(error: unknown, where: string, fileName: string, index: number): Error {
  if (!(error instanceof OpenAI.APIError) || error.status === undefined) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const what = `${where} answered ${error.status} for segment ${index + 1} of ${fileName}: ${error.message}`;
  if (error.status === 401 || error.status === 403) return new LlmAuthError(`${what} (check the API key)`);
  if ([400, 404, 413, 422].includes(error.status)) return new LlmRequestRejectedError(what);
  return new Error(what);
}

/** 16 kHz mono signed 16-bit samples as a WAV file: a 44-byte RIFF header and the samples. */
export function wavFile(samples: Buffer): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(BYTES_PER_SECOND, 28);
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]);
}
