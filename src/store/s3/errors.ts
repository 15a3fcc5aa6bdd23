// S3's failures as the store's typed errors, with a sentence an operator can act on.

import { StorageFullError, StorageUnavailableError, StoreError } from "../errors.js";
import { S3Error } from "./client.js";

export function translateS3(err: unknown, bucket: string): unknown {
  if (err instanceof StoreError || !(err instanceof S3Error)) return err;
  if (err.code === "QuotaExceeded" || err.status === 507) return new StorageFullError(`the bucket "${bucket}" is out of space or over its quota: ${err.message}`);
  return new StorageUnavailableError(s3Problem(err, bucket));
}

/** What is wrong, in one line: used by startup and /readyz alike. */
export function s3Problem(err: S3Error, bucket: string): string {
  if (err.status === 0) return `the object storage cannot be reached: ${err.message}`;
  if (err.code === "NoSuchBucket" || (err.status === 404 && err.message.startsWith("HEAD bucket"))) return `the bucket "${bucket}" does not exist (S3_BUCKET)`;
  if (err.status === 403 || ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"].includes(err.code)) {
    return `the object storage refused the credentials for bucket "${bucket}" (${err.code}); check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY`;
  }
  return `the object storage failed: ${err.message}`;
}
