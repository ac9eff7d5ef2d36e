import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Config } from '../config/config.js';

/** The one S3 client construction (SeaweedFS's S3 gateway); `overrides` for probes (e.g. maxAttempts: 1). */
export function createS3Client(cfg: Config, overrides: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: cfg.s3.endpoint,
    region: cfg.s3.region,
    // SeaweedFS serves buckets as paths (http://host:8333/bucket/key), not as virtual hosts.
    forcePathStyle: true,
    credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: cfg.s3.secretAccessKey },
    ...overrides,
  });
}
