/** JSON schemas shared by the routes (request validation, response serialisation and the OpenAPI document). */

export const problemRef = { $ref: 'Problem#' } as const;

/** The problem responses every authenticated route may give. */
export const authProblems = {
  401: problemRef,
  403: problemRef,
  404: problemRef,
} as const;

export const security: { [scheme: string]: string[] }[] = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

export const tenantParam = {
  type: 'string',
  pattern: '^[a-z0-9][a-z0-9.-]{1,62}$',
  description: 'the tenant (its bucket); must be the API key’s own',
} as const;

/** What an upload (whole or resumable) became: the object, its storage event and the workflow to follow. */
export const uploadResultSchema = {
  type: 'object',
  required: ['fileId', 'tenant', 'path', 'key', 'size', 'mimeType', 'eventType', 'workflowId'],
  properties: {
    fileId: { type: 'string', format: 'uuid', description: 'GET /v1/files/{fileId} follows its status' },
    tenant: { type: 'string' },
    path: { type: 'string', description: '/buckets/{tenant}/{category}/{name}' },
    key: { type: 'string' },
    size: { type: 'integer' },
    mimeType: { type: 'string' },
    etag: { type: 'string' },
    eventType: { type: 'string', enum: ['create', 'update'] },
    workflowId: { type: 'string', description: 'the Temporal workflow the bridge starts for the event' },
    workflowType: { type: 'string', enum: ['ingestFile', 'buildMoments'] },
    event: {
      type: 'object',
      properties: {
        subject: { type: 'string' },
        seq: { type: 'integer' },
        duplicate: { type: 'boolean' },
      },
    },
    parts: { type: 'integer', description: 'resumable uploads: parts merged' },
  },
} as const;

export const fileSchema = {
  type: 'object',
  required: ['id', 'name', 'path', 'status'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    path: { type: 'string' },
    category: { type: 'string' },
    uri: { type: 'string' },
    size: { type: ['integer', 'null'] },
    mimeType: { type: ['string', 'null'] },
    status: { type: 'string', enum: ['pending', 'processing', 'completed', 'failed'] },
    provider: { type: ['string', 'null'] },
    pageCount: { type: ['integer', 'null'] },
    chunkCount: { type: ['integer', 'null'] },
    error: { type: ['string', 'null'] },
    embeddings: {
      type: 'object',
      description:
        "the chunks' vectors of the configured provider: pending (not all embedded yet, or embedding is behind), done, failed (the reason in error) or off (embedding switched off); a completed file is searchable by words whatever this says",
      required: ['status', 'provider', 'embedded', 'chunks'],
      properties: {
        status: { type: 'string', enum: ['pending', 'done', 'failed', 'off'] },
        provider: { type: 'string' },
        embedded: { type: 'integer' },
        chunks: { type: 'integer' },
        error: { type: ['string', 'null'] },
      },
    },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
