/**
 * Resumable uploads for big files, as the seeds' chat system has them: initiate → upload parts (any
 * order, again after a failure) → complete, which S3 merges on the server into one object; then the one
 * storage event of that object. GET lists the parts S3 already holds, so a client that lost its state
 * resumes with the missing ones. An upload never completed is aborted by the housekeeping schedule
 * (abortStaleUploads, P8FS_HOUSEKEEPING_UPLOAD_MAX_AGE_HOURS), or at once with DELETE.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ensureBucket, headObject } from '../../clients/object-store.js';
import { releaseLlmClaim } from '../../db/llm-claims.js';
import { requireTenant } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { claimOrRefuse, startsLlmWork } from '../llm-cap.js';
import {
  abortUpload,
  completeUpload,
  decodeUploadId,
  encodeUploadId,
  initiateUpload,
  listParts,
  MAX_PART_BYTES,
  MAX_PARTS,
  MIN_PART_BYTES,
  openUploads,
  type UploadHandle,
  uploadPart,
  uploadSigningKey,
} from '../object-uploads.js';
import { ApiProblem } from '../problems.js';
import { authProblems, problemRef, security, tenantParam, uploadResultSchema } from '../schemas.js';
import { announceUpload, contentLengthOf, uploadTarget } from './files.js';

/**
 * A media type as HTTP has it (RFC 9110 §8.3.1): type/subtype with optional `; name=value` parameters,
 * tokens or quoted strings, and no control characters: the value goes into S3's Content-Type header, where
 * a CR/LF would split the header (the S3 client refuses it, a 500) instead of a 400 naming the field.
 */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE_PATTERN = `^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"[^"\\\\\\u0000-\\u001f\\u007f]*"))*$`;

const uploadParams = {
  type: 'object',
  required: ['tenant', 'uploadId'],
  properties: { tenant: tenantParam, uploadId: { type: 'string', minLength: 1, maxLength: 4096 } },
} as const;

const partSchema = {
  type: 'object',
  required: ['partNumber', 'etag'],
  properties: {
    partNumber: { type: 'integer', minimum: 1, maximum: MAX_PARTS },
    etag: { type: 'string' },
    size: { type: 'integer' },
  },
} as const;

/** The upload of the path's tenant; a foreign or made-up id is 404. */
function ownUpload(request: FastifyRequest, deps: ApiDeps, tenant: string, uploadId: string): UploadHandle {
  const own = requireTenant(request, tenant);
  const handle = decodeUploadId(uploadId, uploadSigningKey(deps.cfg));
  if (!handle || handle.bucket !== own) throw new ApiProblem(404, `no upload ${uploadId} for tenant ${own}`);
  return handle;
}

function uploadLinks(tenant: string, uploadId: string) {
  const base = `/v1/uploads/${tenant}/${uploadId}`;
  return { parts: `${base}/parts/{partNumber}`, complete: `${base}/complete`, status: base };
}

export function registerUploadRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{
    Params: { tenant: string };
    Body: { name: string; category?: string; contentType?: string };
  }>(
    '/v1/uploads/:tenant',
    {
      schema: {
        summary: 'Start a resumable upload (an S3 multipart upload)',
        tags: ['uploads'],
        security,
        params: { type: 'object', required: ['tenant'], properties: { tenant: tenantParam } },
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 255 },
            category: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$', default: 'uploads' },
            contentType: { type: 'string', maxLength: 255, pattern: MEDIA_TYPE_PATTERN },
          },
        },
        response: {
          201: {
            type: 'object',
            required: ['uploadId', 'tenant', 'key'],
            properties: {
              uploadId: { type: 'string' },
              tenant: { type: 'string' },
              key: { type: 'string' },
              contentType: { type: 'string' },
              minPartBytes: { type: 'integer' },
              maxPartBytes: { type: 'integer' },
              maxParts: { type: 'integer' },
              links: {
                type: 'object',
                properties: {
                  parts: { type: 'string' },
                  complete: { type: 'string' },
                  status: { type: 'string' },
                },
              },
            },
          },
          400: problemRef,
          429: problemRef,
          ...authProblems,
        },
      },
    },
    async (request, reply) => {
      const tenant = requireTenant(request, request.params.tenant);
      const { name, category = 'uploads', contentType } = request.body;
      const target = uploadTarget(deps, tenant, category, name, contentType);
      await ensureBucket(deps.s3, target.bucket);
      // A cap per tenant, so one key cannot pile up open uploads (and their parts) without end. Two
      // initiates at the same instant may both pass; the cap bounds the pile, not the exact count.
      const cap = deps.cfg.api.maxOpenUploads;
      if ((await openUploads(deps.s3, target.bucket, cap)) >= cap)
        throw new ApiProblem(
          429,
          `tenant ${tenant} already has ${cap} resumable uploads open (P8FS_API_MAX_OPEN_UPLOADS=${cap}): complete or abort one (DELETE /v1/uploads/${tenant}/{uploadId}) first`,
          { maxOpenUploads: cap },
          'too-many-open-uploads',
        );
      // A transcript becomes moments (LLM work): its slot of the tenant's cap is taken when the upload
      // starts (an upload aborted later keeps it until the hour is over).
      const claim = startsLlmWork(category, target.key.slice(target.key.indexOf('/') + 1))
        ? await claimOrRefuse(deps, reply, tenant, 'transcript', `${target.key}@${new Date().toISOString()}`)
        : undefined;
      const handle = await initiateUpload(deps.s3, target).catch(async (error: unknown) => {
        if (claim) await releaseLlmClaim(deps.pool, claim);
        throw error;
      });
      const uploadId = encodeUploadId(handle, uploadSigningKey(deps.cfg));
      return reply.code(201).send({
        uploadId,
        tenant,
        key: target.key,
        contentType: target.contentType,
        minPartBytes: MIN_PART_BYTES,
        maxPartBytes: MAX_PART_BYTES,
        maxParts: MAX_PARTS,
        links: uploadLinks(tenant, uploadId),
      });
    },
  );

  app.get<{ Params: { tenant: string; uploadId: string } }>(
    '/v1/uploads/:tenant/:uploadId',
    {
      schema: {
        summary: 'The parts S3 holds for the upload (to resume after a failure)',
        tags: ['uploads'],
        security,
        params: uploadParams,
        response: {
          200: {
            type: 'object',
            properties: {
              uploadId: { type: 'string' },
              key: { type: 'string' },
              parts: { type: 'array', items: partSchema },
              bytes: { type: 'integer' },
            },
          },
          ...authProblems,
        },
      },
    },
    async (request) => {
      const handle = ownUpload(request, deps, request.params.tenant, request.params.uploadId);
      const parts = await listParts(deps.s3, handle);
      return {
        uploadId: request.params.uploadId,
        key: handle.key,
        parts,
        bytes: parts.reduce((sum, p) => sum + p.size, 0),
      };
    },
  );

  app.post<{
    Params: { tenant: string; uploadId: string };
    Body: { parts?: { partNumber: number; etag: string }[] } | undefined;
  }>(
    '/v1/uploads/:tenant/:uploadId/complete',
    {
      schema: {
        summary: 'Merge the parts into one object (server side) and publish its storage event',
        description:
          'Without a body (or without `parts`) every part S3 holds is merged, in part-number order.',
        tags: ['uploads'],
        security,
        params: uploadParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { parts: { type: 'array', maxItems: MAX_PARTS, items: partSchema } },
        },
        response: { 201: uploadResultSchema, 409: problemRef, 502: problemRef, ...authProblems },
      },
    },
    async (request, reply) => {
      const handle = ownUpload(request, deps, request.params.tenant, request.params.uploadId);
      const target = {
        bucket: handle.bucket,
        key: handle.key,
        contentType: uploadTarget(
          deps,
          handle.bucket,
          handle.key.split('/')[0] ?? 'uploads',
          handle.key.slice(handle.key.indexOf('/') + 1),
          undefined,
        ).contentType,
      };
      const existed = (await headObject(deps.s3, target.bucket, target.key)) !== undefined;
      const { parts } = await completeUpload(deps.s3, handle, request.body?.parts);
      return reply.code(201).send(await announceUpload(deps, target, existed, { parts }));
    },
  );

  app.delete<{ Params: { tenant: string; uploadId: string } }>(
    '/v1/uploads/:tenant/:uploadId',
    {
      schema: {
        summary: 'Abort the upload and drop its parts',
        tags: ['uploads'],
        security,
        params: uploadParams,
        response: { 204: { type: 'null' }, ...authProblems },
      },
    },
    async (request, reply) => {
      const handle = ownUpload(request, deps, request.params.tenant, request.params.uploadId);
      await abortUpload(deps.s3, handle);
      return reply.code(204).send();
    },
  );
}

/** The part upload: its body is the part's bytes, so it is registered where no parser reads bodies. */
export function registerUploadPartRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.put<{ Params: { tenant: string; uploadId: string; partNumber: number } }>(
    '/v1/uploads/:tenant/:uploadId/parts/:partNumber',
    {
      config: { rawBody: true },
      schema: {
        summary: 'Upload one part (streamed to S3; Content-Length required)',
        description:
          'Every part but the last must be at least 5 MiB (S3’s rule, checked when the upload completes). Sending a part number again replaces that part.',
        tags: ['uploads'],
        security,
        params: {
          type: 'object',
          required: ['tenant', 'uploadId', 'partNumber'],
          properties: {
            ...uploadParams.properties,
            partNumber: { type: 'integer', minimum: 1, maximum: MAX_PARTS },
          },
        },
        response: { 200: partSchema, 411: problemRef, 413: problemRef, ...authProblems },
      },
    },
    async (request) => {
      const handle = ownUpload(request, deps, request.params.tenant, request.params.uploadId);
      const length = contentLengthOf(request);
      if (length === undefined)
        throw new ApiProblem(
          411,
          'a part needs a Content-Length header (chunked transfer is not accepted for parts)',
        );
      if (length > MAX_PART_BYTES)
        throw new ApiProblem(
          413,
          `a part holds at most ${MAX_PART_BYTES} bytes (S3's limit); this one has ${length}`,
        );
      return uploadPart(deps.s3, handle, request.params.partNumber, request.body as Readable, length);
    },
  );
}
