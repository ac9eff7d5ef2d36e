/**
 * The metric definitions and what the worker interceptor records from finished activities, without
 * servers (the scrape of real processes is test/integration/metrics-scrape.test.ts). Expositions are
 * parsed with the same real parser.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { IngestFileInput } from '../../src/domain/ingest.js';
import { createBridgeMetrics, exposition, workerMetrics } from '../../src/telemetry/metrics.js';
import { recordFinished } from '../../src/workers/metrics-interceptor.js';

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
}
const require = createRequire(import.meta.url);
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => Family[];

function input(fileName: string, mimeType?: string): IngestFileInput {
  return {
    tier: 'medium',
    version: 'v1',
    event: {
      type: 'create',
      tenantId: 'tenant-never-a-label',
      bucket: 'tenant-never-a-label',
      category: 'uploads',
      key: `uploads/${fileName}`,
      path: `/buckets/tenant-never-a-label/uploads/${fileName}`,
      fileName,
      ...(mimeType ? { mimeType } : {}),
    },
  } as IngestFileInput;
}

describe('bridge metrics', () => {
  it('every family has HELP and TYPE; series of every reason and category exist at 0; unknown lag is NaN', async () => {
    const metrics = createBridgeMetrics({
      ignoreCategories: ['directory', 'multipart-part', 'rename-to-itself'],
      temporalUp: () => false,
      lag: async () => undefined,
      inFlight: () => 0,
      maxInFlight: 64,
    });
    metrics.started.inc({ tier: 'large' });
    const text = await exposition(metrics.registry);
    const families = parsePrometheus(text);
    for (const family of families) {
      expect(family.help, family.name).not.toBe('');
      expect(family.type, family.name).not.toBe('UNTYPED');
    }
    const byName = new Map(families.map((f) => [f.name, f]));
    expect(
      byName.get('p8fs_bridge_dead_lettered_by_reason_total')?.metrics.map((m) => m.labels?.reason),
    ).toEqual(['invalid_event', 'object_missing', 's3_refused', 'start_rejected', 'max_deliveries']);
    expect(byName.get('p8fs_bridge_ignored_by_category_total')?.metrics.every((m) => m.value === '0')).toBe(
      true,
    );
    expect(byName.get('p8fs_bridge_started_total')?.metrics).toEqual([
      { labels: { tier: 'large' }, value: '1' },
    ]);
    expect(byName.get('p8fs_bridge_temporal_up')?.metrics[0]?.value).toBe('0');
    // prom-client writes it `Nan`: Prometheus reads NaN in any case (Go's ParseFloat).
    expect(byName.get('p8fs_bridge_consumer_pending')?.metrics[0]?.value).toMatch(/^nan$/i);
    expect(byName.get('process_resident_memory_bytes')?.type).toBe('GAUGE');
  });
});

describe('worker metrics from finished activities', () => {
  const m = workerMetrics();
  const value = async (name: string, labels: Record<string, string>) => {
    const family = parsePrometheus(await m.registry.metrics()).find((f) => f.name === name);
    const found = family?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
    return found?.value === undefined ? undefined : Number(found.value);
  };

  it('a completed store counts the file by tier and provider, with its bytes, pages and chunks; a superseded one nothing', async () => {
    const file = { fileId: 'f', jobId: 'j', size: 5000, provider: 'pdf' };
    const extraction = {
      provider: 'pdf',
      pageCount: 8,
      extractedKey: 'k',
      sectionCount: 8,
      characters: 1,
      contentHash: 'h',
    };
    await recordFinished({
      step: 'storeChunks',
      args: [input('a.pdf'), file, extraction, {}],
      result: { resourcesStored: 12, resourcesReplaced: 0 },
    });
    await recordFinished({
      step: 'storeChunks',
      args: [input('b.pdf'), file, extraction, {}],
      result: { resourcesStored: 0, resourcesReplaced: 0, superseded: 'overwritten meanwhile' },
    });
    expect(await value('p8fs_worker_files_completed_total', { tier: 'medium', provider: 'pdf' })).toBe(1);
    const text = await m.registry.metrics();
    expect(text).toContain('p8fs_worker_file_bytes_sum{tier="medium",provider="pdf"} 5000');
    expect(text).toContain('p8fs_worker_file_pages_sum{provider="pdf"} 8');
    expect(text).toContain('p8fs_worker_file_chunks_sum{provider="pdf"} 12');
    expect(text).not.toContain('tenant-never-a-label');
  });

  it('a recorded failure counts under the provider its type maps to; LLM jobs by type and status', async () => {
    await recordFinished({ step: 'recordIngestFailure', args: [input('c.docx')], result: { fileId: 'f' } });
    await recordFinished({
      step: 'recordIngestFailure',
      args: [input('d.docx')],
      result: { fileId: 'f', superseded: 'deleted meanwhile' },
    });
    expect(await value('p8fs_worker_files_failed_total', { tier: 'medium', provider: 'docx' })).toBe(1);
    await recordFinished({ step: 'collectDreamBatch', args: [], result: { stored: [1, 2, 3], failed: [4] } });
    await recordFinished({
      step: 'failDreamJobs',
      args: [{ jobIds: ['x', 'y'], message: 'no answer' }],
      result: undefined,
    });
    await recordFinished({ step: 'storeMoments', args: [], result: { stored: 4, replaced: 0, merged: 0 } });
    expect(await value('p8fs_llm_jobs_total', { type: 'dream_analysis', status: 'completed' })).toBe(3);
    expect(await value('p8fs_llm_jobs_total', { type: 'dream_analysis', status: 'failed' })).toBe(2);
    expect(await value('p8fs_llm_jobs_total', { type: 'build_moments', status: 'completed' })).toBe(1);
  });
});
