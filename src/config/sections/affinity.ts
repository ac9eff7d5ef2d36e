/** Resource affinity (`p8fs dreaming process --task affinity`, src/workflows/affinity.ts): its bounds. */
import { z } from 'zod';
import type { EnvReader } from '../env-reader.js';
import { intBetween } from '../schema.js';
import { declared, type Section } from '../variable.js';

export interface AffinityConfig {
  /** P8FS_AFFINITY_RESOURCES_PER_RUN: resources one run links; the rest waits for the next run. */
  resourcesPerRun: number;
  /** P8FS_AFFINITY_THRESHOLD: cosine similarity a neighbour needs to become an edge. */
  threshold: number;
  /** P8FS_AFFINITY_MAX_MODEL_CALLS: model calls one --use-llm run makes (one per candidate pair). */
  maxModelCalls: number;
}

const AFFINITY = {
  resourcesPerRun: {
    name: 'P8FS_AFFINITY_RESOURCES_PER_RUN',
    schema: intBetween(1, 100_000),
    fallback: '100',
    meaning: 'affinity: resources (chunks) one run links; the rest waits for the next run',
  },
  threshold: {
    name: 'P8FS_AFFINITY_THRESHOLD',
    schema: z.coerce.number().min(-1).max(1),
    fallback: '0.5',
    meaning:
      'affinity: cosine similarity (-1 to 1) between a segment of a resource and another resource that makes an edge',
  },
  maxModelCalls: {
    name: 'P8FS_AFFINITY_MAX_MODEL_CALLS',
    schema: intBetween(1, 100_000),
    fallback: '100',
    meaning: 'affinity --use-llm: model calls (one per candidate pair) one run makes; the rest waits',
  },
} as const;

export const AFFINITY_SECTION: Section = {
  title: 'Resource affinity',
  about: "Edges between a tenant's related resources, by vector and optionally a model (docs/INSIGHTS.md).",
  variables: declared(AFFINITY),
};

export function readAffinity(r: EnvReader): AffinityConfig {
  return {
    resourcesPerRun: r.read(AFFINITY.resourcesPerRun),
    threshold: r.read(AFFINITY.threshold),
    maxModelCalls: r.read(AFFINITY.maxModelCalls),
  };
}
