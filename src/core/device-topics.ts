// The MQTT topics a core device publishes its status on (semantics §8.3, §8.5, §8.6), for the device agent.
import { DEPLOYMENT_SHADOW_NAME } from './device-document/defaults.js';
import { GREENGRASS_JOB_NAMESPACE } from './jobs/types.js';

const thingTopics = (thingName: string) => `$aws/things/${thingName}`;

/** UpdateJobExecution of a deployment job, namespaced as the nucleus publishes it; replies on `/accepted`, `/rejected`. */
export const jobExecutionUpdateTopic = (thingName: string, jobId: string) =>
  `${thingTopics(thingName)}/jobs/${jobId}/namespace-${GREENGRASS_JOB_NAMESPACE}/update`;

/** Update of the deployment shadow (thing deployments); replies on `/accepted`, `/rejected`. */
export const deploymentShadowUpdateTopic = (thingName: string) => `${thingTopics(thingName)}/shadow/name/${DEPLOYMENT_SHADOW_NAME}/update`;

/** Fleet-status (health) messages; QoS 1, no reply. */
export const fleetStatusTopic = (thingName: string) => `${thingTopics(thingName)}/greengrassv2/health/json`;
