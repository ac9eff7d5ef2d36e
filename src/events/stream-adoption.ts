/**
 * Creating a stream, or adopting one that exists: ours from an earlier release, or one the original
 * P8FS made (its router creates P8FS_STORAGE_EVENTS with WorkQueue retention and a 24 h max age). An
 * existing stream keeps its retention and storage, which JetStream cannot change (and whose change would
 * refuse to start the bridge); only subjects we own and the dedup window are set, and the limits too when
 * the stream is one of ours (Limits retention). What cannot be reconciled without losing something stops
 * with the conflict and the `nats` command that resolves it.
 */
import {
  type JetStreamManager,
  RetentionPolicy,
  type StreamConfig,
  type StreamInfo,
  type StreamUpdateConfig,
} from '@nats-io/jetstream';
import { errorText } from '../domain/errors.js';

export type WantedStream = Partial<StreamConfig> & {
  name: string;
  subjects: string[];
  /** The variable that names this stream, for messages (not sent to the server). */
  variable?: string;
};

/** A conflict an operator resolves; the message names it and the command that resolves it. */
export class StreamConflictError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StreamConflictError';
  }
}

/** Whether the NATS subject pattern (`*`, `>` wildcards) matches the literal subject. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i += 1) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

function isNotFound(error: unknown): boolean {
  return /stream not found/i.test(errorText(error));
}

function isOverlap(error: unknown): boolean {
  return /subjects overlap/i.test(errorText(error));
}

/** Which existing stream holds `subject` (undefined if none answers). */
async function holderOf(jsm: JetStreamManager, subject: string): Promise<string | undefined> {
  return jsm.streams.find(subject).catch(() => undefined);
}

async function overlapConflict(jsm: JetStreamManager, wanted: WantedStream, error: unknown): Promise<Error> {
  for (const subject of wanted.subjects) {
    const holder = await holderOf(jsm, subject);
    if (!holder || holder === wanted.name) continue;
    const theirs = (await jsm.streams.info(holder).catch(() => undefined))?.config.subjects ?? [];
    const taking = theirs.filter((s) => subjectMatches(s, subject));
    const rest = theirs.filter((s) => !subjectMatches(s, subject));
    const fix =
      rest.length > 0
        ? `free it: \`nats stream edit ${holder} --subjects ${rest.join(',')}\` (what ${holder} stored stays)`
        : `use that stream: set ${wanted.variable ?? 'its variable'}=${holder}`;
    return new StreamConflictError(
      `stream ${wanted.name} cannot bind ${subject}: stream ${holder} already takes it (its subject ${taking.join(', ')}); ${fix}`,
      { cause: error },
    );
  }
  return new StreamConflictError(`stream ${wanted.name}: ${errorText(error)}`, { cause: error });
}

/** What adopting one stream did, for the log. */
export interface Adoption {
  stream: string;
  created: boolean;
  retention?: string;
  changes: string[];
}

/**
 * Creates `wanted`, or brings an existing stream of that name to it as far as is safe. `drop` lists
 * subjects an earlier release of ours bound to this stream and that now belong elsewhere.
 */
export async function adoptStream(
  jsm: JetStreamManager,
  wanted: WantedStream,
  drop: string[] = [],
): Promise<Adoption> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(wanted.name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const { variable: _, ...config } = wanted;
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      // Another process created it meanwhile: adopt that one.
      if (/already in use|already exists/i.test(errorText(addError))) return adoptStream(jsm, wanted, drop);
      if (isOverlap(addError)) throw await overlapConflict(jsm, wanted, addError);
      throw addError;
    }
    return { stream: wanted.name, created: true, changes: [] };
  }
  const current = info.config;
  const subjects = current.subjects ?? [];
  const missing = wanted.subjects.filter((w) => !subjects.some((s) => subjectMatches(s, w)));
  if (missing.length > 0) {
    throw new StreamConflictError(
      `stream ${wanted.name} exists with subjects ${subjects.join(', ') || '(none)'}, without ${missing.join(', ')}: ` +
        `add them with \`nats stream edit ${wanted.name} --subjects ${[...subjects, ...missing].join(',')}\`, ` +
        `or set ${wanted.variable ?? 'its variable'} to a stream that binds them`,
    );
  }
  const update: Partial<StreamUpdateConfig> = {};
  const changes: string[] = [];
  const kept = subjects.filter((s) => !drop.includes(s));
  if (kept.length !== subjects.length) {
    update.subjects = kept;
    changes.push(`subjects ${subjects.join(', ')} → ${kept.join(', ')}`);
  }
  if (wanted.duplicate_window !== undefined && current.duplicate_window !== wanted.duplicate_window) {
    update.duplicate_window = wanted.duplicate_window;
    changes.push(`duplicate_window → ${wanted.duplicate_window / 1e9} s`);
  }
  // Limits (ours): our retention limits too. WorkQueue or Interest (the original's, or an operator's):
  // its limits are its owner's choice and stay.
  if (current.retention === RetentionPolicy.Limits) {
    for (const key of ['max_age', 'discard'] as const) {
      if (wanted[key] !== undefined && current[key] !== wanted[key]) {
        Object.assign(update, { [key]: wanted[key] });
        changes.push(`${key} → ${wanted[key]}`);
      }
    }
  }
  if (changes.length > 0) {
    try {
      await jsm.streams.update(wanted.name, update);
    } catch (error) {
      throw new StreamConflictError(
        `stream ${wanted.name} (${current.retention} retention) could not be updated (${changes.join('; ')}): ${errorText(error)}`,
        { cause: error },
      );
    }
  }
  return { stream: wanted.name, created: false, retention: current.retention, changes };
}
