/** What every insight activity (dreams, moments) works with; built once per LLM worker process. */
import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../telemetry/logger.js';
import type { LlmProvider } from './llm/types.js';

export interface InsightDeps {
  cfg: Config;
  pool: pg.Pool;
  s3: S3Client;
  llm: LlmProvider;
  log: Logger;
}
