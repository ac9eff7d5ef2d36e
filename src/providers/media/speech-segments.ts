/**
 * Splits audio on silence, as P8FS did: frames whose energy is above −35 dBFS are speech, speech runs
 * closer than 3 s are merged, and segments last 0.5–30 s. Computed here on the decoded PCM (16 kHz mono
 * signed 16-bit, as decode.ts writes it) rather than with ffmpeg's silencedetect filter: one pass over
 * the file we already have, thresholds and the split of long runs under our control, and no parsing of
 * ffmpeg's log lines. Memory: one number per 30 ms frame (120,000 for an hour), never the samples.
 */
import { createReadStream } from 'node:fs';

export const SAMPLE_RATE = 16_000;
export const BYTES_PER_SECOND = SAMPLE_RATE * 2;
const FRAME_SAMPLES = 480; // 30 ms
export const FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE;

export interface SegmentOptions {
  thresholdDb: number;
  minSeconds: number;
  maxSeconds: number;
  /** Speech runs separated by less silence than this are one segment. */
  mergeGapSeconds: number;
  /** Silence kept around speech, so a segment does not clip a word's first or last sound. */
  padSeconds: number;
  /** Runs with less speech than this are clicks, not words. */
  minSpeechSeconds: number;
}

export const SEGMENT_DEFAULTS: SegmentOptions = {
  thresholdDb: -35,
  minSeconds: 0.5,
  maxSeconds: 30,
  mergeGapSeconds: 3,
  padSeconds: 0.25,
  minSpeechSeconds: 0.1,
};

export interface SpeechSegment {
  startSeconds: number;
  endSeconds: number;
}

/**
 * The RMS level of each 30 ms frame of a PCM file, in dBFS (−Infinity for digital silence). Streams the
 * file; `onProgress` gets the seconds read so far.
 */
export async function frameLevels(
  pcmPath: string,
  signal: AbortSignal,
  onProgress?: (seconds: number) => void,
): Promise<Float32Array> {
  let levels = new Float32Array(4096);
  let count = 0;
  let sumSquares = 0;
  let inFrame = 0;
  let carry: Buffer | undefined;
  const push = (db: number) => {
    if (count === levels.length) {
      const grown = new Float32Array(levels.length * 2);
      grown.set(levels);
      levels = grown;
    }
    levels[count++] = db;
  };
  const stream = createReadStream(pcmPath, { highWaterMark: 256 * 1024, signal });
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      let chunk = carry ? Buffer.concat([carry, piece]) : piece;
      carry = undefined;
      if (chunk.length % 2 === 1) {
        carry = chunk.subarray(chunk.length - 1);
        chunk = chunk.subarray(0, chunk.length - 1);
      }
      for (let offset = 0; offset < chunk.length; offset += 2) {
        const sample = chunk.readInt16LE(offset);
        sumSquares += sample * sample;
        if (++inFrame === FRAME_SAMPLES) {
          push(toDb(sumSquares, inFrame));
          sumSquares = 0;
          inFrame = 0;
        }
      }
      onProgress?.(count * FRAME_SECONDS);
    }
  } catch (err) {
    signal.throwIfAborted();
    throw err;
  }
  // A last, shorter frame still counts when it holds at least 10 ms.
  if (inFrame >= FRAME_SAMPLES / 3) push(toDb(sumSquares, inFrame));
  return levels.subarray(0, count);
}

function toDb(sumSquares: number, samples: number): number {
  const rms = Math.sqrt(sumSquares / samples);
  return rms === 0 ? Number.NEGATIVE_INFINITY : 20 * Math.log10(rms / 32768);
}

/**
 * Segments of speech from frame levels (pure): runs of frames above the threshold, merged across short
 * gaps, split before they pass the maximum (at the quietest frame of their last third), padded, and
 * dropped when they hold almost no speech. `durationSeconds` bounds the padding at the end.
 */
export function speechSegments(
  levels: ArrayLike<number>,
  durationSeconds: number,
  options: SegmentOptions = SEGMENT_DEFAULTS,
): SpeechSegment[] {
  const frames = levels.length;
  const gapFrames = Math.round(options.mergeGapSeconds / FRAME_SECONDS);
  const maxFrames = Math.floor(options.maxSeconds / FRAME_SECONDS);
  const padFrames = Math.round(options.padSeconds / FRAME_SECONDS);
  const maxRun = maxFrames - 2 * padFrames;

  // Speech runs [start, end) in frames, merged across gaps shorter than mergeGapSeconds.
  const runs: { start: number; end: number; voiced: number }[] = [];
  for (let i = 0; i < frames; i++) {
    if (!((levels[i] as number) > options.thresholdDb)) continue;
    const last = runs.at(-1);
    if (last && i - last.end < gapFrames) {
      last.end = i + 1;
      last.voiced += 1;
    } else {
      runs.push({ start: i, end: i + 1, voiced: 1 });
    }
  }

  // Runs longer than the maximum are cut where the speech is quietest, in the last third of the window.
  const bounded: { start: number; end: number; voiced: number }[] = [];
  for (const run of runs) {
    let start = run.start;
    while (run.end - start > maxRun) {
      let cut = start + maxRun;
      let quietest = Number.POSITIVE_INFINITY;
      for (let i = start + Math.floor((maxRun * 2) / 3); i < start + maxRun; i++) {
        const level = levels[i] as number;
        if (level < quietest) {
          quietest = level;
          cut = i;
        }
      }
      bounded.push({ start, end: cut, voiced: countVoiced(levels, start, cut, options.thresholdDb) });
      start = cut;
    }
    bounded.push({ start, end: run.end, voiced: countVoiced(levels, start, run.end, options.thresholdDb) });
  }

  const minSpeech = options.minSpeechSeconds / FRAME_SECONDS;
  const segments: SpeechSegment[] = [];
  for (const [index, run] of bounded.entries()) {
    if (run.voiced < minSpeech) continue;
    const previousEnd = index > 0 ? (bounded[index - 1] as { end: number }).end : 0;
    const nextStart = index + 1 < bounded.length ? (bounded[index + 1] as { start: number }).start : frames;
    // Padding stays clear of the neighbours, so segments never overlap.
    const start = Math.max(run.start - padFrames, previousEnd, 0);
    const end = Math.min(run.end + padFrames, nextStart);
    const startSeconds = round(start * FRAME_SECONDS);
    const endSeconds = round(Math.min(end * FRAME_SECONDS, durationSeconds));
    if (endSeconds - startSeconds < options.minSeconds - 1e-6) {
      // Shorter than the minimum: widen into the silence around it where there is room.
      const missing = options.minSeconds - (endSeconds - startSeconds);
      const widened = {
        startSeconds: round(Math.max(0, previousEnd * FRAME_SECONDS, startSeconds - missing / 2)),
        endSeconds: round(Math.min(durationSeconds, nextStart * FRAME_SECONDS, endSeconds + missing / 2)),
      };
      segments.push(widened);
    } else {
      segments.push({ startSeconds, endSeconds });
    }
  }
  return segments;
}

function countVoiced(levels: ArrayLike<number>, start: number, end: number, threshold: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if ((levels[i] as number) > threshold) n += 1;
  return n;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** "[12.0s - 40.0s]": how a transcript chunk names its time range. */
export function timeRange(segment: SpeechSegment): string {
  return `[${segment.startSeconds.toFixed(1)}s - ${segment.endSeconds.toFixed(1)}s]`;
}
