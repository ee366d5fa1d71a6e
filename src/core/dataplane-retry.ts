// When the device retries a call to the Greengrass data plane or a download, and what a failure is called
// (semantics §7.1 step 3, §8.1, Appendix A; NUC `ComponentServiceHelper`, `DeploymentDocumentDownloader`,
// `ArtifactDownloader`, `GreengrassRepositoryDownloader`). Pure: the agent's client asks, then sleeps or throws.
import type { DeploymentErrorCode } from './deployment-errors.js';

/** The interval between two attempts of a cloud call, whatever the reason (the nucleus uses one minute throughout). */
export const CLOUD_RETRY_INTERVAL_MS = 60_000;
/** GetDeploymentConfiguration's 404 is retried this many times (the document may not be readable at once). */
export const DEPLOYMENT_CONFIGURATION_NOT_FOUND_RETRIES = 10;
/** An artifact whose download does not match its digest is fetched at most this many times in all. */
export const ARTIFACT_CHECKSUM_ATTEMPTS = 10;

export type DataPlaneCall =
  | 'ResolveComponentCandidates'
  | 'GetComponentVersionArtifact'
  | 'ListThingGroupsForCoreDevice'
  | 'GetDeploymentConfiguration'
  /** GET of a pre-signed URL (an artifact, or the full deployment document). */
  | 'Download';

/** How a call failed: no HTTP answer at all (connection, TLS, reset, timeout), or an HTTP status with AWS's error code. */
export type CallFailure = { kind: 'network' } | { kind: 'http'; status: number; errorCode?: string };

export const isThrottling = (f: CallFailure) => f.kind === 'http' && (f.status === 429 || f.errorCode === 'ThrottlingException');

/** Network errors, throttling and server faults pass; the other 4xx answers will not change by asking again. */
export function isTransient(f: CallFailure): boolean {
  return f.kind === 'network' || isThrottling(f) || (f.kind === 'http' && f.status >= 500);
}

/**
 * Whether to try `call` again after its `failures`-th failure in a row (1 for the first), and after how long.
 * Transient failures are retried without end (the caller bounds it, or cancels); GetDeploymentConfiguration's 404
 * DEPLOYMENT_CONFIGURATION_NOT_FOUND_RETRIES times; anything else not at all.
 */
export function retryAfter(call: DataPlaneCall, failure: CallFailure, failures: number): number | undefined {
  if (isTransient(failure)) return CLOUD_RETRY_INTERVAL_MS;
  if (call === 'GetDeploymentConfiguration' && failure.kind === 'http' && failure.status === 404 && failures <= DEPLOYMENT_CONFIGURATION_NOT_FOUND_RETRIES) {
    return CLOUD_RETRY_INTERVAL_MS;
  }
  return undefined;
}

const ACCESS_DENIED: Partial<Record<DataPlaneCall, DeploymentErrorCode>> = {
  ResolveComponentCandidates: 'RESOLVE_COMPONENT_CANDIDATES_ACCESS_DENIED',
  GetComponentVersionArtifact: 'GET_COMPONENT_VERSION_ARTIFACT_ACCESS_DENIED',
  GetDeploymentConfiguration: 'GET_DEPLOYMENT_CONFIGURATION_ACCESS_DENIED',
};

/** The error codes of a failed call, most generic first. */
export function failureCodes(call: DataPlaneCall, failure: CallFailure): DeploymentErrorCode[] {
  if (failure.kind === 'network') return ['NETWORK_ERROR'];
  if (call === 'Download') return ['HTTP_REQUEST_ERROR'];
  const { status } = failure;
  const specific: DeploymentErrorCode = isThrottling(failure)
    ? 'THROTTLING_ERROR'
    : status === 403
      ? (ACCESS_DENIED[call] ?? 'ACCESS_DENIED')
      : status === 404
        ? 'RESOURCE_NOT_FOUND'
        : status === 409
          ? 'CONFLICTED_REQUEST'
          : status >= 500
            ? 'SERVER_ERROR'
            : 'BAD_REQUEST';
  return ['CLOUD_API_ERROR', specific];
}
