/**
 * Files: upload one through the API (streamed to S3, then its storage event, as `p8fs ingest` does),
 * list the tenant's files with their status, one file's status, and a presigned download URL.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ensureBucket, headObject } from '../../clients/object-store.js';
import { type FileEmbeddingRow, fileEmbeddingColumns, fileEmbeddings } from '../../db/embeddings/index.js';
import { releaseLlmClaim } from '../../db/llm-claims.js';
import { downloadHeaders } from '../../domain/download-headers.js';
import { mimeTypeForFileName } from '../../domain/provider-catalog.js';
import { publishUploadEvent, uploadStorageEvent } from '../../events/upload-event.js';
import { embeddingProviderFromConfig } from '../../providers/embeddings/index.js';
import { requireTenant, tenantOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { claimOrRefuse, startsLlmWork } from '../llm-cap.js';
import { putStream } from '../object-uploads.js';
import { ApiProblem } from '../problems.js';
import {
  authProblems,
  fileSchema,
  problemRef,
  security,
  tenantParam,
  uploadResultSchema,
} from '../schemas.js';

export const SOURCE = 'p8fs-api';

export const fileNameQuery = {
  name: { type: 'string', minLength: 1, maxLength: 255, description: 'file name (no slashes)' },
  category: {
    type: 'string',
    pattern: '^[A-Za-z0-9._-]{1,64}$',
    default: 'uploads',
    description:
      "folder in the bucket; `transcripts` makes a JSON transcript into moments (one of the tenant's P8FS_LLM_JOBS_PER_TENANT_PER_HOUR slots)",
  },
} as const;

/** The deepest page: a larger `offset` is a 400, not a scan PostgreSQL gives up on (a 500). */
const MAX_OFFSET = 10_000;

/** Where an upload goes, checked with the bridge's own event rules before a byte is stored. */

export function uploadTarget(
  deps: ApiDeps,
  tenant: string,
  category: string,
  givenName: string,
  contentType: string | undefined,
): { bucket: string; key: string; contentType: string } {
  // One spelling per name: "é" typed as one character or as e + accent is the same file (NFC).
  const name = givenName.normalize('NFC');
  if (name.includes('/') || name.includes('\\'))
    throw new ApiProblem(400, `the file name ${JSON.stringify(name)} must not contain a slash`);
  const key = `${category}/${name}`;
  const made = uploadStorageEvent(
    { bucket: tenant, key, existed: false },
    [deps.cfg.s3.derivedBucket],
    SOURCE,
  );
  if ('rejected' in made)
    throw new ApiProblem(
      400,
      `s3://${tenant}/${key} would make a storage event the bridge rejects: ${made.rejected}`,
    );
  const given = contentType?.split(';')[0]?.trim().toLowerCase();
  if (given === 'multipart/form-data')
    throw new ApiProblem(
      415,
      'send the file itself as the body (e.g. curl --data-binary @FILE or -T FILE), not a multipart form',
    );
  // No type, the generic one, or curl's default for --data-binary: the file name says what it is.
  const unspecified =
    !given || given === 'application/octet-stream' || given === 'application/x-www-form-urlencoded';
  const mime = unspecified ? mimeTypeForFileName(name) : given;
  return { bucket: tenant, key, contentType: mime };
}

/** After the bytes are stored: HEAD for the version, then the event; the result the client follows. */
export async function announceUpload(
  deps: ApiDeps,
  target: { bucket: string; key: string; contentType: string },
  existed: boolean,
  extra: Record<string, unknown> = {},
) {
  const head = await headObject(deps.s3, target.bucket, target.key);
  if (!head)
    throw new ApiProblem(502, `s3://${target.bucket}/${target.key} is missing right after its upload`);
  const published = await publishUploadEvent(
    deps.js,
    deps.cfg.nats.eventsSubject,
    { bucket: target.bucket, key: target.key, size: head.size, mimeType: target.contentType, head, existed },
    [deps.cfg.s3.derivedBucket],
    SOURCE,
  );
  return {
    fileId: published.fileId,
    tenant: target.bucket,
    path: published.path,
    key: target.key,
    size: head.size,
    mimeType: target.contentType,
    etag: head.etag ?? '',
    eventType: published.eventType,
    workflowId: published.workflowId,
    workflowType: published.workflowType,
    event: { subject: deps.cfg.nats.eventsSubject, seq: published.seq, duplicate: published.duplicate },
    ...extra,
  };
}

export function contentLengthOf(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined || request.headers['transfer-encoding']) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** Routes whose body is the file itself: registered where no content-type parser reads the body. */
export function registerFileUploadRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Params: { tenant: string }; Querystring: { name: string; category: string } }>(
    '/v1/files/:tenant',
    {
      config: { rawBody: true },
      schema: {
        summary: 'Upload one file (streamed to S3), then publish its storage event',
        description:
          'The body is the file (any Content-Type; application/octet-stream or none: guessed from the name). With a Content-Length it streams as one PutObject; chunked bodies go up in 8 MiB parts. Replacing an existing name is an update event. Follow `fileId` with GET /v1/files/{id}.',
        tags: ['files'],
        security,
        params: { type: 'object', required: ['tenant'], properties: { tenant: tenantParam } },
        querystring: { type: 'object', required: ['name'], properties: fileNameQuery },
        response: {
          201: uploadResultSchema,
          400: problemRef,
          415: problemRef,
          429: problemRef,
          502: problemRef,
          ...authProblems,
        },
      },
    },
    async (request, reply) => {
      const tenant = requireTenant(request, request.params.tenant);
      const target = uploadTarget(
        deps,
        tenant,
        request.query.category,
        request.query.name,
        request.headers['content-type'],
      );
      // A transcript becomes moments (LLM work): it takes a slot of the tenant's cap before a byte is
      // stored, and gives it back if the upload does not get as far as its storage event.
      const claim = startsLlmWork(request.query.category, target.key.slice(target.key.indexOf('/') + 1))
        ? await claimOrRefuse(deps, reply, tenant, 'transcript', `${target.key}@${new Date().toISOString()}`)
        : undefined;
      try {
        await ensureBucket(deps.s3, target.bucket);
        const existed = (await headObject(deps.s3, target.bucket, target.key)) !== undefined;
        await putStream(deps.s3, target, request.body as Readable, contentLengthOf(request));
        const result = await announceUpload(deps, target, existed);
        return reply.code(201).send(result);
      } catch (error) {
        if (claim) await releaseLlmClaim(deps.pool, claim);
        throw error;
      }
    },
  );
}

interface FileRecord extends FileEmbeddingRow {
  id: string;
  name: string;
  path: string;
  category: string;
  uri: string;
  file_size: number | null;
  mime_type: string | null;
  status: string;
  provider: string | null;
  page_count: number | null;
  chunk_count: number | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

const FILE_COLUMNS =
  'id, name, path, category, uri, file_size, mime_type, status, provider, page_count, chunk_count, error, created_at, updated_at';

/** FILE_COLUMNS and the file's embeddings for the provider in parameter `providerParam` (files as `f`). */
function fileColumns(providerParam: string): string {
  return `${FILE_COLUMNS}, ${fileEmbeddingColumns(providerParam)}`;
}

/** The configured embedding provider's name and switch: what a file's embeddings are shown against. */
function embeddingSettings(deps: ApiDeps): { provider: string; enabled: boolean } {
  return { provider: embeddingProviderFromConfig(deps.cfg).name, enabled: deps.cfg.embeddings.enabled };
}

function toFile(r: FileRecord, embedding: { provider: string; enabled: boolean }) {
  return {
    id: r.id,
    name: r.name,
    path: r.path,
    category: r.category,
    uri: r.uri,
    size: r.file_size,
    mimeType: r.mime_type,
    status: r.status,
    provider: r.provider,
    pageCount: r.page_count,
    chunkCount: r.chunk_count,
    error: r.error,
    embeddings: fileEmbeddings(r, embedding.provider, embedding.enabled),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** One file of the request's tenant; another tenant's id is 404, like an unknown one. */
async function ownFile(deps: ApiDeps, request: FastifyRequest, id: string): Promise<FileRecord> {
  const found = await deps.pool.query<FileRecord>(
    `SELECT ${fileColumns('$3')} FROM files f WHERE id = $1 AND tenant_id = $2`,
    [id, tenantOf(request), embeddingProviderFromConfig(deps.cfg).name],
  );
  const row = found.rows[0];
  if (!row)
    throw new ApiProblem(
      404,
      `no file ${id} for this tenant (a file appears once its workflow has registered it, a moment after the upload)`,
    );
  return row;
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

export function registerFileRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { status?: string; limit: number; offset: number } }>(
    '/v1/files',
    {
      schema: {
        summary: "The tenant's files with their ingestion status, newest first",
        tags: ['files'],
        security,
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['pending', 'processing', 'completed', 'failed'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['files', 'total'],
            properties: {
              files: { type: 'array', items: fileSchema },
              total: { type: 'integer' },
              limit: { type: 'integer' },
              offset: { type: 'integer' },
            },
          },
          400: problemRef,
          401: problemRef,
        },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const { status, limit, offset } = request.query;
      const where = 'tenant_id = $1 AND ($2::text IS NULL OR status = $2)';
      const embedding = embeddingSettings(deps);
      const listed = await deps.pool.query<FileRecord>(
        `SELECT ${fileColumns('$5')} FROM files f WHERE ${where} ORDER BY updated_at DESC, id LIMIT $3 OFFSET $4`,
        [tenant, status ?? null, limit, offset, embedding.provider],
      );
      const total = await deps.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM files WHERE ${where}`,
        [tenant, status ?? null],
      );
      return {
        files: listed.rows.map((r) => toFile(r, embedding)),
        total: total.rows[0]?.n ?? 0,
        limit,
        offset,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/files/:id',
    {
      schema: {
        summary: 'One file and its status',
        tags: ['files'],
        security,
        params: idParams,
        response: { 200: fileSchema, 400: problemRef, ...authProblems },
      },
    },
    async (request) => toFile(await ownFile(deps, request, request.params.id), embeddingSettings(deps)),
  );

  app.get<{ Params: { id: string }; Querystring: { redirect: boolean } }>(
    '/v1/files/:id/download',
    {
      schema: {
        summary: 'A presigned download URL of the file: 302 to it, or JSON with ?redirect=false',
        tags: ['files'],
        security,
        params: idParams,
        querystring: {
          type: 'object',
          properties: { redirect: { type: 'boolean', default: true } },
        },
        response: {
          200: {
            type: 'object',
            required: ['url', 'expiresAt'],
            properties: {
              url: { type: 'string' },
              expiresAt: { type: 'string', format: 'date-time' },
              expiresInSeconds: { type: 'integer' },
            },
          },
          302: {
            type: 'object',
            description: 'Location is the presigned URL; the body repeats it',
            properties: { url: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } },
          },
          400: problemRef,
          ...authProblems,
        },
      },
    },
    async (request, reply) => {
      const file = await ownFile(deps, request, request.params.id);
      const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(file.uri);
      if (!match) throw new ApiProblem(404, `file ${file.id} has no S3 object (uri ${file.uri})`);
      const [, bucket, key] = match as unknown as [string, string, string];
      const seconds = deps.cfg.api.presignSeconds;
      // Served from the S3 origin: only inline-safe types are shown inline (src/domain/download-headers.ts).
      const shown = downloadHeaders(file.name, file.mime_type);
      const get = new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ResponseContentDisposition: shown.disposition,
        ResponseContentType: shown.contentType,
      });
      // The tenant's own read-only identity when it is in use, else the shared one (src/api/read-identities.ts).
      const signer = await deps.readIdentities?.signer(tenantOf(request), bucket, key);
      const url = await getSignedUrl(signer ?? deps.presignS3, get, { expiresIn: seconds });
      const body = {
        url,
        expiresAt: new Date(Date.now() + seconds * 1000).toISOString(),
        expiresInSeconds: seconds,
      };
      if (!request.query.redirect) return body;
      return reply.code(302).header('location', url).send(body);
    },
  );
}
