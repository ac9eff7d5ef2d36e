/**
 * The moments task's first step (task queue p8fs-llm): a tenant's chat sessions (types chat and api) and
 * documents (resources other than the user summary) written in the window and not yet cited by any
 * moment (metadata.session_ids / resource_ids: the only-new rule), each made a transcript
 * (source-transcript.ts) and staged in the derived bucket at a key of its content. The workflow then runs
 * the buildMoments activities on each one; history holds the keys.
 */
import { createHash } from 'node:crypto';
import { putJson } from '../../clients/object-store.js';
import {
  type DocumentRow,
  documentTranscript,
  MOMENT_SESSION_TYPES,
  type SessionRow,
  sessionTranscript,
  USER_CONTEXT_CATEGORY,
} from '../../domain/insight/source-transcript.js';
import type {
  MomentSource,
  PlanTenantMomentsInput,
  TenantMomentsPlan,
} from '../../domain/insight/tenant-moments.js';
import { withStorageErrorsClassified } from '../ingest/storage-errors.js';
import type { InsightDeps } from './deps.js';

export function createTenantMomentActivities(deps: InsightDeps) {
  return withStorageErrorsClassified(tenantMomentActivities(deps));
}

function tenantMomentActivities({ cfg, pool, s3 }: InsightDeps) {
  return {
    async planTenantMoments(input: PlanTenantMomentsInput): Promise<TenantMomentsPlan> {
      const { tenantId } = input;
      const since = new Date(Date.parse(input.until) - input.lookbackHours * 3_600_000).toISOString();
      const sessions = await pool.query<{
        id: string;
        name: string;
        session_type: string;
        started: Date;
        messages: SessionRow['messages'];
      }>(
        `SELECT s.id, s.name, s.session_type, COALESCE(s.started_at, s.created_at) AS started, s.messages
           FROM sessions s
          WHERE s.tenant_id = $1 AND s.session_type = ANY ($2)
            AND GREATEST(s.updated_at, COALESCE(s.last_message_at, s.updated_at)) BETWEEN $3 AND $4
            AND NOT EXISTS (SELECT 1 FROM moments m WHERE m.tenant_id = $1 AND m.metadata->'session_ids' ? s.id::text)
          ORDER BY GREATEST(s.updated_at, COALESCE(s.last_message_at, s.updated_at)) DESC, s.id
          LIMIT $5`,
        [tenantId, MOMENT_SESSION_TYPES, since, input.until, input.sessionLimit],
      );
      const resources = await pool.query<{
        id: string;
        name: string;
        content: string;
        file_id: string | null;
        file_name: string | null;
        uri: string | null;
        at: Date;
      }>(
        `SELECT r.id, r.name, r.content, r.file_id, f.name AS file_name, COALESCE(f.uri, r.uri) AS uri,
                COALESCE(r.resource_timestamp, r.updated_at) AS at
           FROM resources r LEFT JOIN files f ON f.id = r.file_id
          WHERE r.tenant_id = $1 AND COALESCE(r.category, '') <> $2 AND r.updated_at BETWEEN $3 AND $4
            AND NOT EXISTS (SELECT 1 FROM moments m WHERE m.tenant_id = $1 AND m.metadata->'resource_ids' ? r.id::text)
          ORDER BY r.updated_at DESC, r.file_id, r.ordinal
          LIMIT $5`,
        [tenantId, USER_CONTEXT_CATEGORY, since, input.until, input.resourceLimit],
      );
      // A document is its file's chunks together, in order; a resource without a file stands alone.
      const documents = new Map<string, DocumentRow>();
      for (const row of resources.rows) {
        const key = row.file_id ?? row.id;
        const doc = documents.get(key) ?? {
          fileId: key,
          name: row.file_name ?? row.name,
          uri: row.uri,
          at: row.at.toISOString(),
          chunks: [],
        };
        if (row.at.toISOString() < doc.at) doc.at = row.at.toISOString();
        doc.chunks.push({ id: row.id, name: row.name, content: row.content });
        documents.set(key, doc);
      }
      const made: Array<{
        kind: MomentSource['kind'];
        name: string;
        transcript: Record<string, unknown> | undefined;
      }> = [
        ...sessions.rows.map((row) => ({
          kind: 'chat_session' as const,
          name: row.name,
          transcript: sessionTranscript(tenantId, {
            id: row.id,
            name: row.name,
            sessionType: row.session_type,
            startedAt: row.started.toISOString(),
            messages: row.messages,
          }),
        })),
        ...[...documents.values()].map((doc) => ({
          kind: 'document' as const,
          name: doc.name,
          transcript: documentTranscript(tenantId, doc),
        })),
      ];
      const sources: MomentSource[] = [];
      for (const { kind, name, transcript } of made) {
        if (!transcript) continue;
        const text = JSON.stringify(transcript);
        const key = `${tenantId}/moment-sources/${createHash('sha256').update(text).digest('hex').slice(0, 32)}.json`;
        await putJson(s3, cfg.s3.derivedBucket, key, transcript);
        sources.push({
          kind,
          ref: String(transcript.transcript_id),
          name,
          transcript: { bucket: cfg.s3.derivedBucket, key },
        });
      }
      return { sessions: sessions.rows.length, resources: resources.rows.length, sources };
    },
  };
}

export type TenantMomentActivities = ReturnType<typeof createTenantMomentActivities>;
