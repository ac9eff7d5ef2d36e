/** What every transcription backend takes and gives back (transcriber.ts chooses the backend). */

/** Receives each segment's text, in order, as soon as it is known; may throw to stop (a limit). */
export type SegmentSink = (index: number, text: string) => void;

/** Transcribed by a backend, or not possible here (with the reason the metadata section gives). */
export type TranscriptionOutcome =
  | { status: 'done'; backend: 'offline' | 'openai'; engine: string; model: string }
  | { status: 'unavailable'; reason: string };
