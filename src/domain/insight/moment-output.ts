/**
 * The MomentBuilder output of a whole transcript, in the original P8FS's shape (Healer-AI/p8fs,
 * p8fs/src/p8fs/models/agentlets/moments.py, and the seeds' "MomentBuilder Output"): `{moments[…],
 * analysis_summary, total_moments}`, each moment with the original Moment's fields (name, content,
 * summary, category, uri, resource_timestamp, resource_ends_timestamp, moment_type, emotion_tags,
 * topic_tags, present_persons[{fingerprint_id, user_id, user_label}], location, background_sounds,
 * metadata{transcript_id, duration_seconds, …}) plus ours (speakers). `p8fs eval` prints it and a
 * buildMoments job's `jobs.result` holds it.
 *
 * readMomentBuilderOutput accepts what the original's model allows (moments are open objects there):
 * the seeds' examples parse, and so does every output of ours.
 */
import { z } from 'zod';
import type { Moment } from './moment-model.js';
import { readProblem } from './read-problem.js';

export interface MomentBuilderResult {
  moments: Moment[];
  analysis_summary: string | null;
  total_moments: number;
}

/**
 * The transcript's output from its groups' moments and summaries: the summaries in group order (one
 * group, one summary; repeated ones once), total_moments counted.
 */
export function momentBuilderResult(
  moments: Moment[],
  groupSummaries: readonly (string | null | undefined)[],
): MomentBuilderResult {
  const summaries = [...new Set(groupSummaries.flatMap((s) => (s?.trim() ? [s.trim()] : [])))];
  return {
    moments,
    analysis_summary: summaries.length > 0 ? summaries.join(' ') : null,
    total_moments: moments.length,
  };
}

const instant = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected an ISO 8601 time');
const tags = z.array(z.string());

const MOMENT_READ = z.looseObject({
  name: z.string(),
  content: z.string().optional(),
  summary: z.string().nullable().optional(),
  category: z.string().nullable().optional(),
  uri: z.string().nullable().optional(),
  resource_timestamp: instant.nullable().optional(),
  resource_ends_timestamp: instant.nullable().optional(),
  moment_type: z.string().nullable().optional(),
  emotion_tags: tags.nullable().optional(),
  topic_tags: tags.nullable().optional(),
  present_persons: z
    .array(
      z.looseObject({ fingerprint_id: z.string().optional(), user_label: z.string().nullable().optional() }),
    )
    .nullable()
    .optional(),
  location: z.string().nullable().optional(),
  background_sounds: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const OUTPUT_READ = z.looseObject({
  moments: z.array(MOMENT_READ).default([]),
  analysis_summary: z.string().nullable().default(null),
  total_moments: z.number().int().min(0).optional(),
});

export type MomentBuilderRead = z.infer<typeof OUTPUT_READ> & { total_moments: number };

/** A MomentBuilder output in the original's shape; throws naming the first bad field and `where`. */
export function readMomentBuilderOutput(value: unknown, where = 'MomentBuilder output'): MomentBuilderRead {
  const parsed = OUTPUT_READ.safeParse(value);
  if (!parsed.success) throw readProblem(where, parsed.error);
  return { ...parsed.data, total_moments: parsed.data.total_moments ?? parsed.data.moments.length };
}
