// The device side of a deployment: the "Configuration" document, how it is delivered, and how device reports read.
export * from './defaults.js';
export {
  buildConfiguration,
  type DeploymentSource,
  type DeviceComponent,
  type DeviceConfiguration,
  type DeviceConfigurationUpdate,
  type DeviceRunWith,
  type DeviceSystemResourceLimits,
} from './configuration.js';
export {
  carriedBytes,
  channelOf,
  inlineMaxBytes,
  integrityCheckOf,
  prepareDelivery,
  type DeliveryChannel,
  type DeviceDelivery,
  type IntegrityCheck,
} from './delivery.js';
export {
  outcomeFromShadowReported,
  shadowDesiredState,
  shadowReportedState,
  type ShadowReportedState,
  type ShadowReportedStatus,
  type ShadowDesiredState,
  type ShadowDesiredStatus,
  type ShadowReportedOutcome,
} from './shadow.js';
export {
  DEPLOYMENT_FAILURE,
  DEPLOYMENT_REJECTED,
  deviceErrorStack,
  errorCodeList,
  fromJobStatusDetails,
  fromShadowStatusDetails,
  jobStatusOfOutcome,
  statusDetailValue,
  toDeviceStatusDetails,
  toJobStatusDetails,
  type DeploymentOutcome,
  type DetailedDeploymentStatus,
  type DeviceStatusDetails,
  type DeviceStatusReport,
  type EffectiveDeploymentExecutionStatus,
  type EffectiveDeploymentStatusDetails,
} from './status-details.js';
export { deploymentGroupName, missingCapabilities, readDeviceConfiguration } from './read.js';
