// The status messages the agent publishes, as topic + payload (semantics §2.2, §8.3, §8.5, §8.6). Pure: the field
// names, status mapping and limits come from src/core, where the server's readers of the same messages live.
import {
  jobStatusOfOutcome,
  shadowReportedState,
  toJobStatusDetails,
  type DeploymentOutcome,
} from '../../core/device-document/index.js';
import { deploymentShadowUpdateTopic, fleetStatusTopic, jobExecutionUpdateTopic } from '../../core/device-topics.js';
import { buildFleetStatusPayloads, type ComponentState, type FleetStatusInput } from '../../core/fleet-status/index.js';

/** One MQTT publish. */
export interface StatusMessage {
  topic: string;
  payload: string;
}

/**
 * UpdateJobExecution of a deployment job: IN_PROGRESS with empty details once work starts, then the outcome's
 * status (Appendix B) with its statusDetails. The body is what the nucleus sends (`{status, statusDetails, jobId,
 * thingName}`); `clientToken`, when given, lets a reply be matched to this update.
 */
export function jobExecutionUpdate(thingName: string, jobId: string, result: 'IN_PROGRESS' | DeploymentOutcome, clientToken?: string): StatusMessage {
  const [status, statusDetails] =
    result === 'IN_PROGRESS' ? ['IN_PROGRESS', {}] : [jobStatusOfOutcome(result.detailedStatus), toJobStatusDetails(result)];
  const body: Record<string, unknown> = { status, statusDetails, jobId, thingName };
  if (clientToken !== undefined) body.clientToken = clientToken;
  return { topic: jobExecutionUpdateTopic(thingName, jobId), payload: JSON.stringify(body) };
}

/**
 * An update of the deployment shadow's reported state for a thing deployment. `version` is the shadow version the
 * device last saw (optimistic locking, as the nucleus does); without it the update applies whatever the version.
 */
export function deploymentShadowReport(
  thingName: string,
  configurationArn: string,
  ggcVersion: string,
  result: 'IN_PROGRESS' | 'CANCELED' | DeploymentOutcome,
  opts: { version?: number; clientToken?: string } = {},
): StatusMessage {
  const body: Record<string, unknown> = { state: { reported: shadowReportedState(configurationArn, ggcVersion, result) } };
  if (opts.version !== undefined) body.version = opts.version;
  if (opts.clientToken !== undefined) body.clientToken = opts.clientToken;
  return { topic: deploymentShadowUpdateTopic(thingName), payload: JSON.stringify(body) };
}

/** A fleet-status message, as many publishes as it has chunks (see buildFleetStatusPayloads). */
export function fleetStatusMessages(input: FleetStatusInput, allComponents?: readonly ComponentState[]): StatusMessage[] {
  const topic = fleetStatusTopic(input.thing);
  return buildFleetStatusPayloads(input, allComponents).map((payload) => ({ topic, payload }));
}
