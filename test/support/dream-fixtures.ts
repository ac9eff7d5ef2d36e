/**
 * Dream test inputs: the dreaming samples (a chat session and seven documents) for a tenant, and the
 * answer a stand-in model gives (a valid DreamModel naming the request's user and analysis).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { upsertSession } from '../../src/db/sessions.js';
import { fileIdFor, resourceIdFor } from '../../src/domain/ids.js';
import type { DreamModel } from '../../src/domain/insight/dream-model.js';
import { parseSessions } from '../../src/domain/insight/session.js';
import { SAMPLES_DIR } from './samples.js';

export const DREAMING_DIR = join(SAMPLES_DIR, 'dreaming');

export async function importSampleSessions(pool: pg.Pool, tenantId: string): Promise<number> {
  const dir = join(DREAMING_DIR, 'sessions');
  let n = 0;
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    for (const session of parseSessions(JSON.parse(readFileSync(join(dir, name), 'utf8')), name)) {
      await upsertSession(pool, tenantId, session);
      n++;
    }
  }
  return n;
}

/** The sample documents as one resource each (the ingestion path is tested on its own elsewhere). */
export async function insertSampleResources(pool: pg.Pool, tenantId: string): Promise<string[]> {
  const dir = join(DREAMING_DIR, 'resources');
  const ids: string[] = [];
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()) {
    const path = `/buckets/${tenantId}/uploads/${name}`;
    const fileId = fileIdFor(tenantId, path);
    await pool.query(
      `INSERT INTO files (id, tenant_id, uri, path, name, category, status) VALUES ($1, $2, $3, $4, $5, 'uploads', 'completed')
       ON CONFLICT (id) DO NOTHING`,
      [fileId, tenantId, `s3://${tenantId}/uploads/${name}`, path, name],
    );
    await pool.query(
      `INSERT INTO resources (id, tenant_id, file_id, name, category, content, ordinal) VALUES ($1, $2, $3, $4, 'uploads', $5, 0)
       ON CONFLICT (id) DO NOTHING`,
      [resourceIdFor(fileId, 0), tenantId, fileId, name, readFileSync(join(dir, name), 'utf8')],
    );
    ids.push(fileId);
  }
  return ids;
}

/** What the stand-in model answers: valid, and built from the request's header lines. */
export function modelDream(prompt: string): DreamModel {
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(prompt)?.[1] ?? 'unknown';
  return {
    user_id: field('user_id'),
    analysis_id: field('analysis_id'),
    generated_by: 'model',
    executive_summary: 'Busy week around Project Alpha and the Acme Corp contract.',
    key_themes: ['project alpha', 'acme contract'],
    entity_relationships: [
      { entity: 'Sarah Chen', related_to: 'Project Alpha', relationship: 'lead engineer', evidence: 'spec' },
    ],
    goals: [
      {
        title: 'Finish the API spec',
        description: 'Authentication section first',
        target_date: 'end of week',
        priority: 'high',
        source: 'morning_planning_2025_01_05.md',
      },
      {
        title: 'Launch Project Alpha',
        description: 'Production launch',
        target_date: 'March 1, 2025',
        priority: 'high',
        source: 'project_alpha_spec.md',
      },
    ],
    dreams: [
      {
        title: 'Lead a platform team',
        description: 'Long-term aspiration',
        source: 'reflection_evening_2025_01_08.md',
      },
    ],
    fears: [
      {
        title: 'Migration timeline slips',
        description: 'Microservices migration may need more resources',
        severity: 'medium',
        source: 'morning_planning_2025_01_05.md',
      },
    ],
    pending_tasks: [
      {
        title: 'Review the Acme contract',
        description: 'Technical review for legal',
        due_date: null,
        priority: 'high',
        source: 'morning_planning_2025_01_05.md',
      },
    ],
    appointments: [
      {
        title: 'Team standup',
        date: null,
        time: '2 PM',
        participants: ['Sarah Chen'],
        source: 'team_standup_2025_01_06.md',
      },
    ],
    recommendations: [
      { title: 'Ask for migration help', description: 'Raise staffing early', rationale: 'stated worry' },
    ],
    priority_actions: [
      { action: 'Finish the authentication section', reason: 'due to John Smith', urgency: 'high' },
    ],
    metrics: { sessions_analyzed: 0, resources_analyzed: 0, confidence: 0.8 },
    source_file_ids: [],
  };
}

/** The user prompt of a chat completion or Messages request. */
export function userPrompt(messages: Array<{ role: string; content: unknown }>): string {
  const user = messages.find((m) => m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}
