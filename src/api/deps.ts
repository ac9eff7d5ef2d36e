/** What the API's routes work with: one of each connection, made once per process (src/api/process.ts). */
import type { S3Client } from '@aws-sdk/client-s3';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Config } from '../config/config.js';
import type { TenantReadIdentities } from './read-identities.js';

export interface ApiDeps {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
  /** Signs download URLs: the S3 client of P8FS_API_PUBLIC_S3_ENDPOINT when set, else `s3`. */
  presignS3: S3Client;
  /**
   * Each tenant's read-only identity, which signs its download URLs before `presignS3` does; absent when
   * P8FS_API_PRESIGN_PER_TENANT=false.
   */
  readIdentities?: TenantReadIdentities;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Connects on first use: the API starts (and serves files) while Temporal is still down. */
  temporal: Client;
}
