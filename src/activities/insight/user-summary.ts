/**
 * The user summary activity (task queue p8fs-llm): the tenant's recent sessions, moments, resources and
 * file uploads (the original's summarize_user limits) → one model call (or the heuristic) → the
 * `p8fs-user-info` resource (category user_context, one per tenant: its id is derived from the tenant),
 * replaced on every run. The moments task and dream analysis skip this category, so the summary is never
 * summarised again as if the user had written it.
 */
import { Context } from '@temporalio/activity';
import { P8FS_NAMESPACE, uuidV5 } from '../../domain/ids.js';
import { USER_CONTEXT_CATEGORY } from '../../domain/insight/source-transcript.js';
import {
  heuristicUserSummary,
  USER_INFO_NAME,
  USER_SUMMARY_LIMITS,
  USER_SUMMARY_SCHEMA,
  type UserActivity,
  type UserSummaryInput,
  type UserSummaryOutcome,
  userInfoContent,
  userSummaryMessages,
  validateUserSummary,
} from '../../domain/insight/user-summary.js';
import type { InsightDeps } from './deps.js';

export function userInfoId(tenantId: string): string {
  return uuidV5(`user-info:${tenantId}`, P8FS_NAMESPACE);
}

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : 'unknown');

export function createUserSummaryActivities({ pool, llm }: InsightDeps) {
  return {
    async summarizeUser(input: UserSummaryInput): Promise<UserSummaryOutcome> {
      const { tenantId } = input;
      const limits = { ...USER_SUMMARY_LIMITS, ...input };
      const sessions = await pool.query<{
        name: string;
        at: Date | null;
        message_count: number;
        first: string | null;
      }>(
        `SELECT name, COALESCE(started_at, created_at) AS at, message_count,
                (SELECT m->>'content' FROM jsonb_array_elements(CASE jsonb_typeof(messages) WHEN 'array' THEN messages ELSE '[]'::jsonb END) m
                  WHERE m->>'role' = 'user' LIMIT 1) AS first
           FROM sessions WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $2`,
        [tenantId, limits.maxSessions],
      );
      const moments = await pool.query<{
        name: string;
        at: Date | null;
        summary: string | null;
        topic_tags: string[];
      }>(
        `SELECT name, COALESCE(resource_timestamp, created_at) AS at, summary, topic_tags
           FROM moments WHERE tenant_id = $1 ORDER BY created_at DESC, ordinal LIMIT $2`,
        [tenantId, limits.maxMoments],
      );
      const resources = await pool.query<{ name: string; category: string | null }>(
        `SELECT name, category FROM resources WHERE tenant_id = $1 AND COALESCE(category, '') <> $2
          ORDER BY created_at DESC LIMIT $3`,
        [tenantId, USER_CONTEXT_CATEGORY, limits.maxResources],
      );
      const files = await pool.query<{ name: string; at: Date | null }>(
        'SELECT name, created_at AS at FROM files WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $2',
        [tenantId, limits.maxFiles],
      );
      const activity: UserActivity = {
        sessions: sessions.rows.map((s) => ({
          name: s.name,
          date: day(s.at),
          messages: s.message_count,
          firstQuestion: (s.first ?? '').slice(0, 200),
        })),
        moments: moments.rows.map((m) => ({
          name: m.name,
          date: day(m.at),
          summary: (m.summary ?? '').slice(0, 300),
          topics: m.topic_tags ?? [],
        })),
        resources: resources.rows.map((r) => ({ name: r.name, category: r.category ?? '' })),
        files: files.rows.map((f) => ({ name: f.name, date: day(f.at) })),
      };
      const context = Context.current();
      const answer = await llm.generate({
        task: 'user_summary',
        messages: userSummaryMessages(tenantId, activity),
        schema: USER_SUMMARY_SCHEMA,
        validate: validateUserSummary,
        heuristic: () => heuristicUserSummary(tenantId, activity),
        maxOutputTokens: 1500,
        signal: context.cancellationSignal,
        onProgress: (details) => context.heartbeat(details),
      });
      const generatedBy = answer.provider === 'heuristic' ? 'heuristic' : 'model';
      const id = userInfoId(tenantId);
      const metadata = {
        generated_by: generatedBy,
        provider: answer.provider,
        model: answer.model,
        interests: answer.value.interests,
        active_projects: answer.value.active_projects,
        total_sessions: activity.sessions.length,
        moments_available: activity.moments.length,
        resources_available: activity.resources.length,
        files_available: activity.files.length,
        last_updated: new Date().toISOString(),
        workflow_id: context.info.workflowExecution?.workflowId ?? null,
      };
      await pool.query(
        `INSERT INTO resources (id, tenant_id, file_id, name, category, content, summary, ordinal, metadata, resource_timestamp)
         VALUES ($1, $2, NULL, $3, $4, $5, $6, 0, $7, now())
         ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, summary = EXCLUDED.summary,
           metadata = resources.metadata || EXCLUDED.metadata, resource_timestamp = now(), updated_at = now()`,
        [
          id,
          tenantId,
          USER_INFO_NAME,
          USER_CONTEXT_CATEGORY,
          userInfoContent(answer.value),
          answer.value.summary.slice(0, 500),
          JSON.stringify(metadata),
        ],
      );
      return {
        tenantId,
        resourceId: id,
        sessions: activity.sessions.length,
        moments: activity.moments.length,
        resources: activity.resources.length,
        files: activity.files.length,
        generatedBy,
        provider: answer.provider,
        model: answer.model,
      };
    },
  };
}

export type UserSummaryActivities = ReturnType<typeof createUserSummaryActivities>;
