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
  type ShadowDesiredState,
  type ShadowDesiredStatus,
  type ShadowReportedOutcome,
} from './shadow.js';
export {
  errorCodeList,
  fromJobStatusDetails,
  fromShadowStatusDetails,
  type DeviceStatusReport,
  type EffectiveDeploymentExecutionStatus,
  type EffectiveDeploymentStatusDetails,
} from './status-details.js';
