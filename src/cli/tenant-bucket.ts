/**
 * A tenant's bucket, made when missing. A tenant name may be 1 to 63 characters (the storage events'
 * rule), but SeaweedFS's S3 API creates only buckets of 3 or more (S3's rule) and refuses `t` as
 * InvalidBucketName. Its buckets are the folders under /buckets of its filer, and its S3 API serves a
 * folder made there whatever its length: for such a name the folder is made through the filer.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ensureBucket } from '../clients/object-store.js';
import type { Config } from '../config/config.js';

export async function ensureTenantBucket(cfg: Config, s3: S3Client, tenant: string): Promise<void> {
  try {
    await ensureBucket(s3, tenant);
  } catch (error) {
    if ((error as { name?: string }).name !== 'InvalidBucketName') throw error;
    const folder = `${cfg.s3.filerUrl}/buckets/${encodeURIComponent(tenant)}/`;
    const response = await fetch(folder, { method: 'POST', signal: AbortSignal.timeout(10_000) }).catch(
      (cause: unknown) => {
        throw new Error(
          `SeaweedFS filer at ${cfg.s3.filerUrl} (P8FS_SEAWEEDFS_FILER): cannot make ${folder}`,
          {
            cause,
          },
        );
      },
    );
    if (!response.ok) {
      throw new Error(
        `SeaweedFS refused the bucket name ${JSON.stringify(tenant)} and its filer the folder ${folder} (HTTP ${response.status})`,
        { cause: error },
      );
    }
    await ensureBucket(s3, tenant);
  }
}
