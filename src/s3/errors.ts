// S3 errors: an HTTP status plus an XML body `<Error><Code>…</Code><Message>…</Message>…</Error>`, which the
// SDKs and the CLI turn into their exception classes (NoSuchKey, NoSuchBucket, …) by the code.
import { ArtifactError, type ArtifactErrorCode } from '../artifacts/artifact-store.js';
import { AuthError } from '../wire/sigv4.js';

export class S3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra members of the error body (BucketName, Key, UploadId, …). */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = `S3Error(${code})`;
  }
}

const ARTIFACT_STATUS: Record<ArtifactErrorCode, number> = {
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  BucketAlreadyOwnedByYou: 409,
  BucketAlreadyExists: 409,
  BucketNotEmpty: 409,
  InvalidBucketName: 400,
  KeyTooLongError: 400,
  InvalidArgument: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  EntityTooSmall: 400,
  InvalidRange: 416,
};

/** What S3 calls each SigV4 failure by default; AuthError.s3Code overrides it where S3 is more specific. */
const AUTH_CODE: Record<AuthError['code'], string> = {
  MissingAuthenticationTokenException: 'AccessDenied',
  IncompleteSignatureException: 'AuthorizationHeaderMalformed',
  UnrecognizedClientException: 'InvalidAccessKeyId',
  InvalidSignatureException: 'SignatureDoesNotMatch',
  AccessDeniedException: 'AccessDenied',
};

const AUTH_STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  InvalidAccessKeyId: 403,
  SignatureDoesNotMatch: 403,
  RequestTimeTooSkewed: 403,
  InvalidRequest: 400,
  InvalidArgument: 400,
};

/** The S3 error for a failure, or undefined when it is a fault of meadow's rather than of the request. */
export function toS3Error(e: unknown, region: string): S3Error | undefined {
  if (e instanceof S3Error) return e;
  if (e instanceof ArtifactError) return new S3Error(e.code, ARTIFACT_STATUS[e.code], e.message, e.details);
  if (e instanceof AuthError) {
    const code = e.s3Code ?? AUTH_CODE[e.code];
    const details: Record<string, string> = code === 'AuthorizationHeaderMalformed' ? { Region: region } : {};
    return new S3Error(code, AUTH_STATUS[code] ?? 403, e.message, details);
  }
  return undefined;
}
