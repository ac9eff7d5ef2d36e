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
      {
        entity1: 'Sarah Chen',
        entity2: 'Project Alpha',
        relationship_type: 'leads',
        confidence: 0.9,
        evidence: 'spec',
      },
    ],
    goals: [
      {
        goal: 'Finish the API spec',
        category: 'career',
        priority: 'high',
        deadline: 'end of week',
        progress_indicators: ['authentication section reviewed'],
        source: 'morning_planning_2025_01_05.md',
      },
      {
        goal: 'Launch Project Alpha',
        category: 'career',
        priority: 'high',
        deadline: 'March 1, 2025',
        progress_indicators: [],
        source: 'project_alpha_spec.md',
      },
    ],
    dreams: [
      {
        dream: 'Lead a platform team',
        category: 'career',
        timeline: 'long-term',
        actionability: 'aspirational',
        source: 'reflection_evening_2025_01_08.md',
      },
    ],
    fears: [
      {
        fear: 'Migration timeline slips',
        category: 'career',
        severity: 'medium',
        related_goals: ['Launch Project Alpha'],
        source: 'morning_planning_2025_01_05.md',
      },
    ],
    pending_tasks: [
      {
        task: 'Review the Acme contract',
        category: 'work',
        urgency: 'urgent',
        deadline: null,
        dependencies: ['legal'],
        source: 'morning_planning_2025_01_05.md',
      },
    ],
    appointments: [
      {
        event: 'Team standup',
        date_time: '2 PM',
        location: null,
        attendees: ['Sarah Chen'],
        preparation_needed: [],
        source: 'team_standup_2025_01_06.md',
      },
    ],
    recommendations: ['Ask for migration help early: the worry is stated twice'],
    priority_actions: ['Finish the authentication section (due to John Smith)'],
    metrics: { total_documents_analyzed: 0, confidence_score: 0.8, data_completeness: 0.9 },
    source_file_ids: [],
  };
}

/** The user prompt of a chat completion or Messages request. */
export function userPrompt(messages: Array<{ role: string; content: unknown }>): string {
  const user = messages.find((m) => m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}
