import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config/config.js';

export function createS3Client(cfg: Config): S3Client {
  return new S3Client({
    endpoint: cfg.s3.endpoint,
    region: cfg.s3.region,
    // SeaweedFS serves buckets as paths (http://host:8333/bucket/key), not as virtual hosts.
    forcePathStyle: true,
    credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: cfg.s3.secretAccessKey },
  });
}
