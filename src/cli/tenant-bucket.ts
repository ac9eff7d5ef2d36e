/**
 * A tenant is its S3 bucket. Storage events accept tenant names of 1 to 63 characters, but SeaweedFS's
 * S3 API creates buckets of 3 or more only (S3's rule) and answers `t` with a bare "The specified bucket
 * is not valid": `p8fs ingest` says what is wrong before it connects to anything.
 */
const S3_MIN_BUCKET_NAME = 3;

/** Why `tenant` cannot be a bucket SeaweedFS's S3 API creates, or undefined when it can. */
export function tenantBucketProblem(tenant: string): string | undefined {
  if (tenant.length >= S3_MIN_BUCKET_NAME) return undefined;
  return `--tenant ${JSON.stringify(tenant)}: a tenant is its S3 bucket, and S3 bucket names have ${S3_MIN_BUCKET_NAME} to 63 characters (e.g. --tenant tenant-${tenant})`;
}
