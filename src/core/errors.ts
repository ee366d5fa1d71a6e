// Domain errors: what went wrong, in meadow's words. The wire layer (src/wire/errors.ts) decides which AWS
// error each kind becomes for each service, so handlers and core code never pick status codes.

export type ErrorKind =
  | 'Invalid' //            the request breaks a rule (field constraint or semantic check)
  | 'NotFound' //           a named resource does not exist
  | 'AlreadyExists' //      creating something that exists with different properties
  | 'Conflict' //           the resource's state forbids the operation
  | 'VersionConflict' //    optimistic-lock version mismatch
  | 'LimitExceeded' //      a quota would be passed
  | 'InProgress' //         same client token, first request not finished
  | 'Throttled'
  | 'Internal'; //        a fault of meadow's, never of the request

export interface FieldViolation {
  /** Path of the offending member, e.g. `deploymentPolicies.componentUpdatePolicy.timeoutInSeconds`. */
  name: string;
  message: string;
}

export interface ErrorDetails {
  resourceType?: string;
  resourceId?: string;
  resourceArn?: string;
  fields?: FieldViolation[];
  /** ValidationException.reason for Greengrass; defaults to FIELD_VALIDATION_FAILED when fields are given. */
  reason?: 'UNKNOWN_OPERATION' | 'CANNOT_PARSE' | 'FIELD_VALIDATION_FAILED' | 'OTHER';
  retryAfterSeconds?: number;
  /**
   * The error shape to send when the service's model has one by this name, for errors only one service has
   * (IoT's CertificateStateException, DeleteConflictException); otherwise the kind decides as usual.
   */
  errorShape?: string;
}

export class MeadowError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = `MeadowError(${kind})`;
  }
}

export const invalid = (message: string, fields?: FieldViolation[], reason?: ErrorDetails['reason']) =>
  new MeadowError('Invalid', message, { fields, reason });

/** One ValidationException for one or more field violations, worded like AWS's own validators. */
export function invalidFields(fields: FieldViolation[]): MeadowError {
  const n = fields.length;
  const head = `${n} validation error${n === 1 ? '' : 's'} detected: `;
  return invalid(head + fields.map((f) => f.message).join('; '), fields, 'FIELD_VALIDATION_FAILED');
}

export const notFound = (resourceType: string, resourceId: string, message?: string) =>
  new MeadowError('NotFound', message ?? `${resourceType} ${resourceId} not found.`, { resourceType, resourceId });

export const conflict = (resourceType: string, resourceId: string, message: string) =>
  new MeadowError('Conflict', message, { resourceType, resourceId });
