import { describe, expect, it } from 'vitest';
import {
  classify,
  countOutcomes,
  type Expected,
  type FileRow,
  uploadedOrPart,
  workflowIdKey,
} from '../chaos/soak/accounting.js';
import { MiB, planFaults, planUploads, type SoakSettings } from '../chaos/soak/plan.js';
import { settingsFrom } from '../chaos/soak/settings.js';

const settings: SoakSettings = {
  seed: 42,
  uploads: 2000,
  windowSeconds: 600,
  tenants: ['a', 'b', 'c'],
  mediumShare: 0.02,
  large: 4,
  huge: 3,
  hostileShare: 0.02,
  killsPerProcess: 3,
  outageSeconds: 20,
};

describe('soak plan (test/chaos/soak/plan.ts)', () => {
  it('is the same for the same seed and different for another', () => {
    expect(planUploads(settings)).toEqual(planUploads(settings));
    expect(planFaults(settings)).toEqual(planFaults(settings));
    expect(planUploads({ ...settings, seed: 43 })).not.toEqual(planUploads(settings));
    expect(planFaults({ ...settings, seed: 43 })).not.toEqual(planFaults(settings));
  });

  it('plans the asked mix: count, unique keys, big files, hostile files, every provider type', () => {
    const plan = planUploads(settings);
    expect(plan).toHaveLength(2000);
    expect(new Set(plan.map((u) => `${u.tenant}/${u.key}`)).size).toBe(2000);
    expect(plan.filter((u) => u.bytes >= 100 * MiB)).toHaveLength(3);
    expect(plan.filter((u) => u.bytes === 200 * MiB && u.kind === 'gen:text')).toHaveLength(1);
    expect(plan.filter((u) => u.bytes >= 16 * MiB && u.bytes < 100 * MiB)).toHaveLength(4);
    expect(plan.filter((u) => u.kind.startsWith('hostile:')).length).toBeGreaterThanOrEqual(40);
    const kinds = new Set(plan.map((u) => u.kind.split(':')[1]));
    for (const type of [
      'pdf',
      'docx',
      'xlsx',
      'pptx',
      'odt',
      'rtf',
      'html',
      'eml',
      'zip',
      'csv',
      'markdown',
      'text',
    ])
      expect(kinds).toContain(type);
    // Uploads are spread over the first 85% of the window, in order.
    expect(plan[0]?.at).toBe(0);
    expect(plan.at(-1)?.at).toBeCloseTo(510, 5);
  });

  it('kills every process the asked number of times and takes each server away once, never two at once', () => {
    const faults = planFaults(settings);
    for (const target of ['subscriber', 'bridge', 'worker-small', 'worker-medium', 'worker-large'])
      expect(faults.filter((f) => f.target === target && f.action === 'kill')).toHaveLength(3);
    const servers = faults.filter((f) => f.action !== 'kill');
    expect(servers.map((f) => `${f.action} ${f.target}`).sort()).toEqual([
      'restart nats',
      'restart temporal',
      'stop postgres',
      'stop seaweedfs',
    ]);
    const sorted = [...servers].sort((x, y) => x.at - y.at);
    for (let i = 1; i < sorted.length; i++) {
      const before = sorted[i - 1] as (typeof sorted)[number];
      expect((sorted[i] as (typeof sorted)[number]).at).toBeGreaterThanOrEqual(
        before.at + before.downSeconds + 30,
      );
    }
    for (const f of faults) expect(f.at).toBeLessThan(settings.windowSeconds);
  });

  it('refuses settings that are not numbers', () => {
    expect(() => settingsFrom({ SOAK_UPLOADS: 'many' })).toThrow(
      /SOAK_UPLOADS="many" is not a non-negative number/,
    );
    expect(settingsFrom({ SOAK_SEED: '5', SOAK_UPLOADS: '200' })).toMatchObject({
      seed: 5,
      uploads: 200,
      huge: 0,
    });
  });

  it('embeds through the loopback stand-in up to 1,000 uploads, not above unless asked; refuses other modes', () => {
    expect(settingsFrom({ SOAK_UPLOADS: '1000' }).embeddings).toBe('loopback-openai');
    expect(settingsFrom({ SOAK_UPLOADS: '5000' }).embeddings).toBe('off');
    expect(settingsFrom({ SOAK_UPLOADS: '5000', SOAK_EMBEDDINGS: 'local' }).embeddings).toBe('local');
    expect(() => settingsFrom({ SOAK_EMBEDDINGS: 'fast' })).toThrow(/SOAK_EMBEDDINGS="fast"/);
  });
});

describe('soak accounting (classify)', () => {
  const e = (key: string, extra: Partial<Expected> = {}): Expected => ({
    tenant: 't',
    key,
    uploaded: true,
    ...extra,
  });
  const row = (key: string, status: string, error: string | null = null): FileRow => ({
    tenant_id: 't',
    path: `/buckets/t/${key}`,
    status,
    error,
  });

  it('gives every upload one outcome, and calls unfinished or unexplained ones stuck or missing', () => {
    const accounted = classify(
      [
        e('done.txt'),
        e('bad.pdf'),
        e('quiet.pdf'),
        e('letter.txt'),
        e('running.txt'),
        e('lost.txt'),
        e('refused.txt', { refused: 'S3 refused the PUT: HTTP 400' }),
        e('stored-anyway.txt', { uploaded: false, refused: 'the API answered 500' }),
        e('never.txt', { uploaded: false }),
        e('cafe\u0301.txt'),
      ],
      [
        row('done.txt', 'completed'),
        row('bad.pdf', 'failed', 'bad.pdf is damaged'),
        row('quiet.pdf', 'failed'),
        row('running.txt', 'processing'),
        row('caf\u00e9.txt', 'completed'),
        row('stored-anyway.txt', 'completed'),
      ],
      [{ path: '/buckets/t/letter.txt', reason: 'path contains a line feed' }],
    );
    expect(accounted.map((a) => a.outcome)).toEqual([
      'completed',
      'failed',
      'stuck',
      'dead-lettered',
      'stuck',
      'missing',
      'refused at upload',
      'completed',
      'never uploaded',
      'completed',
    ]);
    expect(accounted[1]?.reason).toBe('bad.pdf is damaged');
    expect(accounted[3]?.reason).toBe('path contains a line feed');
    expect(countOutcomes(accounted)).toMatchObject({
      completed: 3,
      stuck: 2,
      missing: 1,
      'refused at upload': 1,
    });
  });

  it('tells uploads whose workflow still runs (in progress) from stuck rows and lost uploads', () => {
    expect(workflowIdKey('ingest-create/t/inbox/2026/a@b.txt@etag-1796671265000')).toBe(
      't/inbox/2026/a@b.txt',
    );
    expect(workflowIdKey('ingest-batch-x')).toBeUndefined();
    const accounted = classify(
      [e('queued.txt'), e('running.txt'), e('stuck.txt'), e('lost.txt')],
      [row('running.txt', 'processing'), row('stuck.txt', 'processing')],
      [],
      new Set(['t/queued.txt', 't/running.txt']),
    );
    expect(accounted.map((a) => a.outcome)).toEqual(['in progress', 'in progress', 'stuck', 'missing']);
  });

  it('takes the parts the product stores beside an upload (e-mail attachments) for its own, nothing else', () => {
    const expected = new Set(['/buckets/t/in/mail.eml']);
    expect(uploadedOrPart(expected, '/buckets/t/in/mail.eml')).toBe(true);
    expect(uploadedOrPart(expected, '/buckets/t/in/mail.eml.parts/notes.txt')).toBe(true);
    expect(uploadedOrPart(expected, '/buckets/t/in/other.eml.parts/notes.txt')).toBe(false);
    expect(uploadedOrPart(expected, '/buckets/t/in/stray.txt')).toBe(false);
  });
});
