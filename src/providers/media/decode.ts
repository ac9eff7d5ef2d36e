/**
 * Audio in any container ffmpeg reads (WAV, MP3, M4A, FLAC, OGG…) → 16 kHz mono signed 16-bit PCM in a
 * file: what the speech segmenter and both transcription backends take. ffprobe looks first, so damage
 * is reported in its words before anything is decoded, and a file whose decoded audio would pass the
 * decompressed-bytes limit is refused before it is written (and stopped while written, when a header lied).
 */
import { stat } from 'node:fs/promises';
import { CorruptFileError } from '../../domain/errors.js';
import { approxBytes, type ExtractionLimits, limitExceeded } from '../limits.js';
import type { MediaConfig } from './settings.js';
import { BYTES_PER_SECOND } from './speech-segments.js';
import { runTool, toolReason } from './tools.js';

export interface AudioProbe {
  /** Seconds, when the container says. */
  durationSeconds?: number;
  format?: string;
  codec?: string;
  sampleRate?: number;
  channels?: number;
}

interface ProbeJson {
  format?: { duration?: string; format_name?: string };
  streams?: { codec_type?: string; codec_name?: string; sample_rate?: string; channels?: number }[];
}

/** What ffprobe says of the file; a file it cannot read, or without audio, is a CorruptFileError. */
export async function probeAudio(
  path: string,
  name: string,
  media: MediaConfig,
  signal: AbortSignal,
): Promise<AudioProbe> {
  const run = await runTool(
    media.ffprobe,
    [
      '-v',
      'error',
      '-show_entries',
      'format=duration,format_name:stream=codec_type,codec_name,sample_rate,channels',
      '-of',
      'json',
      `file:${path}`,
    ],
    { signal, timeoutMs: 60_000, fileName: name, variable: 'P8FS_FFPROBE', maxStdout: 1024 * 1024 },
  );
  if (run.code !== 0) {
    throw new CorruptFileError(`${name} is damaged or not audio (ffprobe: ${toolReason(run, path, name)})`);
  }
  let parsed: ProbeJson;
  try {
    parsed = JSON.parse(run.stdout) as ProbeJson;
  } catch {
    throw new CorruptFileError(`${name} is damaged or not audio (ffprobe printed no description of it)`);
  }
  const audio = parsed.streams?.find((s) => s.codec_type === 'audio');
  if (!audio) throw new CorruptFileError(`${name} holds no audio stream (ffprobe found none)`);
  const duration = Number(parsed.format?.duration);
  const sampleRate = Number(audio.sample_rate);
  return {
    ...(Number.isFinite(duration) && duration >= 0 ? { durationSeconds: duration } : {}),
    ...(parsed.format?.format_name ? { format: parsed.format.format_name } : {}),
    ...(audio.codec_name ? { codec: audio.codec_name } : {}),
    ...(Number.isFinite(sampleRate) ? { sampleRate } : {}),
    ...(typeof audio.channels === 'number' ? { channels: audio.channels } : {}),
  };
}

/**
 * Decodes the first audio stream to `pcmPath`; resolves with the seconds of audio written. Limits: the
 * PCM bytes count as decompressed bytes (`maxDecompressedBytes`: 256 MiB ≈ 2.3 hours on the small tier).
 */
export async function decodeToPcm(
  path: string,
  name: string,
  pcmPath: string,
  probe: AudioProbe,
  media: MediaConfig,
  limits: ExtractionLimits,
  signal: AbortSignal,
): Promise<number> {
  const maxBytes = limits.maxDecompressedBytes;
  const tooLong = (seconds: number, how: string) =>
    limitExceeded(
      name,
      limits,
      'maxDecompressedBytes',
      `its ${seconds.toFixed(1)} s of audio ${how} ${approxBytes(Math.round(seconds * BYTES_PER_SECOND))} of 16 kHz PCM`,
    );
  if (probe.durationSeconds !== undefined && probe.durationSeconds * BYTES_PER_SECOND > maxBytes) {
    throw tooLong(probe.durationSeconds, 'decode to');
  }
  // ffmpeg decodes hundreds of times faster than real time; the floor covers a slow, loaded machine.
  const timeoutMs = Math.max(120_000, (probe.durationSeconds ?? 3600) * 100);
  const run = await runTool(
    media.ffmpeg,
    [
      '-nostdin',
      '-hide_banner',
      '-v',
      'error',
      '-i',
      `file:${path}`,
      '-map',
      '0:a:0',
      '-vn',
      '-ac',
      '1',
      '-ar',
      '16000',
      '-f',
      's16le',
      // A header may understate the length: ffmpeg stops writing one byte past the limit.
      '-fs',
      String(maxBytes + 1),
      '-y',
      `file:${pcmPath}`,
    ],
    { signal, timeoutMs, fileName: name, variable: 'P8FS_FFMPEG', maxStdout: 64 * 1024 },
  );
  if (run.code !== 0) {
    throw new CorruptFileError(
      `${name} could not be decoded as audio (ffmpeg: ${toolReason(run, path, name)})`,
    );
  }
  const { size } = await stat(pcmPath).catch(() => ({ size: 0 }));
  if (size > maxBytes) throw tooLong(size / BYTES_PER_SECOND, 'decodes past');
  if (size === 0) throw new CorruptFileError(`${name} holds no decodable audio (ffmpeg wrote no samples)`);
  return size / BYTES_PER_SECOND;
}
