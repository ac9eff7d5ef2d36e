/** The S3 identity tests' shared pieces: a client signing as another identity, and an S3 call's status. */
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/clients/s3.js';
import type { Config } from '../../src/config/config.js';

/** An S3 client of `cfg`'s endpoint signing with the given credentials instead of the admin identity's. */
export function clientAs(cfg: Config, accessKey: string, secretKey: string): S3Client {
  return createS3Client({ ...cfg, s3: { ...cfg.s3, accessKeyId: accessKey, secretAccessKey: secretKey } });
}

/** The HTTP status an S3 call ends with (200 when it succeeds). */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
  }
}
