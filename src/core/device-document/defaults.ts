// The numbers and names of the device "Configuration" document, in one place: the cloud writes them into documents
// and the device agent reads documents with them (semantics §4.1, §8).

/** `schemaDate` the document declares (CC `SchemaDate.MAY_17_2021`, the only value there is). */
export const SCHEMA_DATE = '2021-05-17';

export type FailureHandlingPolicy = 'ROLLBACK' | 'DO_NOTHING';
export type ComponentUpdateAction = 'NOTIFY_COMPONENTS' | 'SKIP_NOTIFY_COMPONENTS';

/** API, CC and nucleus agree: roll back a failed deployment (semantics §4.1). */
export const DEFAULT_FAILURE_HANDLING_POLICY: FailureHandlingPolicy = 'ROLLBACK';
/** API, CC and nucleus agree (semantics §4.1). */
export const DEFAULT_COMPONENT_UPDATE_ACTION: ComponentUpdateAction = 'NOTIFY_COMPONENTS';
/** API, CC and nucleus agree (semantics §4.1). */
export const DEFAULT_COMPONENT_UPDATE_TIMEOUT_SECONDS = 60;
/**
 * Sources disagree (semantics §4.1, Appendix A): the API reference says 30 s, the document model the devices use
 * (CC `ConfigurationValidationPolicy.DEFAULT_TIMEOUT`) says 60 s, the nucleus uses 20 s only for local deployments.
 * We follow the device model: a document written without the field and one written with our default then mean the
 * same thing to a nucleus.
 */
export const DEFAULT_CONFIGURATION_VALIDATION_TIMEOUT_SECONDS = 60;

/** What a document may ask of the device; the nucleus fails a deployment needing one it lacks (semantics §2.2). */
export type DeploymentCapability = 'LARGE_CONFIGURATION' | 'LINUX_RESOURCE_LIMITS' | 'SUB_DEPLOYMENTS';
/** The order capabilities are listed in, so documents are byte-for-byte stable. */
export const CAPABILITY_ORDER: readonly DeploymentCapability[] = ['LARGE_CONFIGURATION', 'LINUX_RESOURCE_LIMITS', 'SUB_DEPLOYMENTS'];

/** IoT `JobDocument` max length (IOTAPI): a group's job document can never be longer. */
export const JOB_DOCUMENT_MAX_BYTES = 32768;
/**
 * Above this a group's document goes out in the LARGE_CONFIGURATION form (DOC `device-auth.md`: "31 KB"; semantics
 * §8.1), leaving room under JOB_DOCUMENT_MAX_BYTES for the capability and the component list.
 */
export const GROUP_DOCUMENT_INLINE_MAX_BYTES = 31 * 1024;
/** Above this a thing's document goes out in the LARGE_CONFIGURATION form (DOC `device-auth.md`: "7 KB"; semantics §1.4). */
export const THING_DOCUMENT_INLINE_MAX_BYTES = 7 * 1024;
/** AWS IoT's limit on one shadow state document: the `desired` state we write must fit it. */
export const SHADOW_STATE_MAX_BYTES = 8 * 1024;
/** The nucleus refuses a downloaded full document larger than this (NUC `DeploymentDocumentDownloader`). */
export const FULL_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024;

/** The named shadow that carries deployments to single things (semantics §8.5). */
export const DEPLOYMENT_SHADOW_NAME = 'AWSManagedGreengrassV2Deployment';

/** Keys of a job execution's `statusDetails` the nucleus writes (semantics §2.2); every value is a string. */
export const JOB_STATUS_DETAIL = {
  detailedStatus: 'detailed-deployment-status',
  failureCause: 'deployment-failure-cause',
  /** A JSON array serialized as a string. */
  errorStack: 'deployment-error-stack',
  /** A JSON array serialized as a string. */
  errorTypes: 'deployment-error-types',
} as const;
/** The nucleus cuts every job statusDetails value to this many characters (NUC `IotJobsHelper`). */
export const JOB_STATUS_DETAIL_MAX_CHARS = 1024;
/** API `EffectiveDeploymentErrorCode` / `EffectiveDeploymentErrorType`: 1..255 characters. */
export const ERROR_CODE_MAX_CHARS = 255;
