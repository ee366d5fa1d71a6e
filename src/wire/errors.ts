// Domain error → AWS error bytes. Which error shape a kind becomes differs per service (Greengrass says
// ValidationException where IoT says InvalidRequestException); the HTTP status and the members sent come
// from that error shape in the model, so the JS SDK and botocore raise the modelled class with its fields.
import type { ErrorKind } from '../core/errors.js';
import { MeadowError } from '../core/errors.js';
import type { Codec } from './codec.js';
import type { ServiceModel } from './service-model.js';

export type ErrorShapes = Record<ErrorKind, string>;

export const GREENGRASS_ERRORS: ErrorShapes = {
  Invalid: 'ValidationException',
  NotFound: 'ResourceNotFoundException',
  AlreadyExists: 'ConflictException',
  Conflict: 'ConflictException',
  VersionConflict: 'ConflictException',
  LimitExceeded: 'ServiceQuotaExceededException',
  InProgress: 'RequestAlreadyInProgressException',
  Throttled: 'ThrottlingException',
  Internal: 'InternalServerException',
};

export const IOT_ERRORS: ErrorShapes = {
  Invalid: 'InvalidRequestException',
  NotFound: 'ResourceNotFoundException',
  AlreadyExists: 'ResourceAlreadyExistsException',
  Conflict: 'ConflictException',
  VersionConflict: 'VersionConflictException',
  LimitExceeded: 'LimitExceededException',
  InProgress: 'ConflictException',
  Throttled: 'ThrottlingException',
  Internal: 'InternalFailureException',
};

// jobs (rollouts): the IoT Jobs data plane. Its model has no version-conflict error; a stale expectedVersion (the
// MQTT API's VersionMismatch) is a ConflictException naming the job. Job-state refusals pick
// InvalidStateTransitionException through ErrorDetails.errorShape.
export const IOT_JOBS_DATA_ERRORS: ErrorShapes = {
  Invalid: 'InvalidRequestException',
  NotFound: 'ResourceNotFoundException',
  AlreadyExists: 'ConflictException',
  Conflict: 'ConflictException',
  VersionConflict: 'ConflictException',
  LimitExceeded: 'ServiceQuotaExceededException',
  InProgress: 'ConflictException',
  Throttled: 'ThrottlingException',
  Internal: 'InternalServerException',
};

export interface AwsErrorResponse {
  status: number;
  code: string;
  headers: Record<string, string>;
  body: string;
}

/** An error outside any service's model (authentication, unknown route, unimplemented operation). */
export function plainError(status: number, code: string, message: string, extra: Record<string, string> = {}): AwsErrorResponse {
  return { status, code, headers: { ...extra }, body: JSON.stringify({ message }) };
}

export function toAwsError(err: MeadowError, model: ServiceModel, codec: Codec, shapes: ErrorShapes): AwsErrorResponse {
  const d = err.details;
  const code = d.errorShape && model.shapes[d.errorShape]?.error ? d.errorShape : shapes[err.kind];
  const shape = model.shapes[code];
  const candidates: Record<string, unknown> = {
    message: err.message,
    resourceId: d.resourceId,
    resourceType: d.resourceType,
    resourceArn: d.resourceArn,
    reason: err.kind === 'Invalid' ? (d.reason ?? (d.fields ? 'FIELD_VALIDATION_FAILED' : 'OTHER')) : undefined,
    fields: d.fields,
    retryAfterSeconds: d.retryAfterSeconds,
    quotaCode: err.kind === 'LimitExceeded' || err.kind === 'Throttled' ? `meadow-${(d.resourceType ?? 'request').toLowerCase()}` : undefined,
    serviceCode: err.kind === 'LimitExceeded' || err.kind === 'Throttled' ? model.signingName : undefined,
  };
  const members: Record<string, unknown> = {};
  for (const name of Object.keys(shape?.members ?? { message: 1 })) {
    if (candidates[name] !== undefined) members[name] = candidates[name];
  }
  const { headers, body } = codec.serializeError(code, members);
  // Retry-After is a retry hint for every client, modelled or not.
  if (d.retryAfterSeconds !== undefined) headers['Retry-After'] = String(d.retryAfterSeconds);
  return { status: shape?.error?.httpStatusCode ?? 400, code, headers, body: JSON.stringify(body) };
}
