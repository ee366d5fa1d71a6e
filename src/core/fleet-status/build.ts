// The fleet-status (health) message a device agent publishes (semantics §8.6; NUC `status/FleetStatusService.java`,
// `status/model/*`): the same fields parseFleetStatus (message.ts) reads, built from the device's component states.
// Pure: the caller supplies the sequence number and time and publishes the payloads in order.
import { toDeviceStatusDetails, type DeploymentOutcome, type DeviceStatusDetails } from '../device-document/status-details.js';
import type { CoreDeviceStatus, LifecycleState } from './message.js';

/** What made the device send the message (NUC `status/model/Trigger.java`). */
export const FLEET_STATUS_TRIGGERS = [
  'LOCAL_DEPLOYMENT',
  'THING_DEPLOYMENT',
  'THING_GROUP_DEPLOYMENT',
  'COMPONENT_STATUS_CHANGE',
  'RECONNECT',
  'NUCLEUS_LAUNCH',
  'NETWORK_RECONFIGURE',
  'CADENCE',
] as const;
export type FleetStatusTrigger = (typeof FLEET_STATUS_TRIGGERS)[number];

/** Triggers whose message lists every component (COMPLETE); the others carry what changed (PARTIAL). */
const COMPLETE_TRIGGERS: readonly FleetStatusTrigger[] = ['NUCLEUS_LAUNCH', 'CADENCE', 'NETWORK_RECONFIGURE'];

/** A message with its chunk header fits in this many bytes of UTF-8 JSON; longer ones are split (semantics §8.6). */
export const FLEET_STATUS_MAX_BYTES = 128_000;

/** One component as the device sees it. */
export interface ComponentState {
  componentName: string;
  version: string;
  status: LifecycleState;
  isRoot: boolean;
  /** configurationArns of the deployments whose targets root or depend on the component. */
  fleetConfigArns: string[];
  /** Status codes and reason of the latest error; sent only for ERRORED and BROKEN components. */
  statusCodes?: string[];
  statusReason?: string;
}

/** The deployment a deployment-triggered message reports on. */
export interface FleetStatusDeployment {
  /** The execution status the deployment ended with (SUCCEEDED, FAILED, REJECTED, CANCELED). */
  status: string;
  deploymentId: string;
  fleetConfigurationArnForStatus: string;
  outcome: DeploymentOutcome;
  /** Roots the deployment left as they were: the cloud still counts them as installed by it. */
  unchangedRootComponents: string[];
}

export interface FleetStatusInput {
  thing: string;
  ggcVersion: string;
  platform: string;
  architecture: string;
  /** The device's next sequence number: one per message, shared by its chunks. */
  sequenceNumber: number;
  /** Epoch ms. */
  timestamp: number;
  trigger: FleetStatusTrigger;
  components: ComponentState[];
  deploymentInformation?: FleetStatusDeployment;
}

/** The message as JSON, in the nucleus's field names. */
export interface FleetStatusWireMessage {
  ggcVersion: string;
  platform: string;
  architecture: string;
  thing: string;
  overallDeviceStatus: CoreDeviceStatus;
  sequenceNumber: number;
  timestamp: number;
  messageType: 'COMPLETE' | 'PARTIAL';
  trigger: FleetStatusTrigger;
  chunkInfo?: { chunkId: number; totalChunks: number };
  components: WireComponent[];
  deploymentInformation?: {
    status: string;
    deploymentId: string;
    fleetConfigurationArnForStatus: string;
    statusDetails: DeviceStatusDetails;
    unchangedRootComponents: string[];
  };
}

interface WireComponent {
  componentName: string;
  version: string;
  fleetConfigArns: string[];
  isRoot: boolean;
  status: LifecycleState;
  componentStatusDetails?: { statusCodes: string[]; statusReason?: string };
}

export const messageTypeOf = (trigger: FleetStatusTrigger): 'COMPLETE' | 'PARTIAL' =>
  COMPLETE_TRIGGERS.includes(trigger) ? 'COMPLETE' : 'PARTIAL';

/** UNHEALTHY iff a component is BROKEN (NUC `FleetStatusService.getOverallStatusBasedOnServiceState`). */
export const overallDeviceStatusOf = (components: readonly ComponentState[]): CoreDeviceStatus =>
  components.some((c) => c.status === 'BROKEN') ? 'UNHEALTHY' : 'HEALTHY';

/**
 * The message, split into chunks of at most `maxBytes` (each repeating the header and deploymentInformation, with
 * `chunkInfo {chunkId from 0, totalChunks}` when there is more than one), as the payloads to publish in order.
 * `overallDeviceStatus` is worked out from `allComponents` when given (a PARTIAL message lists only some components,
 * but the device's health depends on all of them), else from `components`. A single component too large for a chunk
 * of its own still goes out alone.
 */
export function buildFleetStatusPayloads(input: FleetStatusInput, allComponents?: readonly ComponentState[], maxBytes = FLEET_STATUS_MAX_BYTES): string[] {
  const header: FleetStatusWireMessage = {
    ggcVersion: input.ggcVersion,
    platform: input.platform,
    architecture: input.architecture,
    thing: input.thing,
    overallDeviceStatus: overallDeviceStatusOf(allComponents ?? input.components),
    sequenceNumber: input.sequenceNumber,
    timestamp: input.timestamp,
    messageType: messageTypeOf(input.trigger),
    trigger: input.trigger,
    components: [],
  };
  const d = input.deploymentInformation;
  if (d) {
    header.deploymentInformation = {
      status: d.status,
      deploymentId: d.deploymentId,
      fleetConfigurationArnForStatus: d.fleetConfigurationArnForStatus,
      statusDetails: toDeviceStatusDetails(d.outcome),
      unchangedRootComponents: [...d.unchangedRootComponents],
    };
  }
  const components = input.components.map(wireComponent);
  const whole = JSON.stringify({ ...header, components });
  if (Buffer.byteLength(whole) <= maxBytes) return [whole];

  // Chunk by bytes: the header with the longest chunkInfo this message can have, plus each component and a comma.
  const sizes = components.map((c) => Buffer.byteLength(JSON.stringify(c)));
  const most = String(components.length);
  const base = Buffer.byteLength(JSON.stringify({ ...header, chunkInfo: { chunkId: Number(most), totalChunks: Number(most) } }));
  const groups: WireComponent[][] = [];
  let current: WireComponent[] = [];
  let used = base;
  components.forEach((c, i) => {
    const add = sizes[i] + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && used + add > maxBytes) {
      groups.push(current);
      current = [];
      used = base;
    }
    used += sizes[i] + (current.length > 0 ? 1 : 0);
    current.push(c);
  });
  groups.push(current);
  return groups.map((chunk, chunkId) => JSON.stringify({ ...header, chunkInfo: { chunkId, totalChunks: groups.length }, components: chunk }));
}

function wireComponent(c: ComponentState): WireComponent {
  const out: WireComponent = {
    componentName: c.componentName,
    version: c.version,
    fleetConfigArns: [...c.fleetConfigArns],
    isRoot: c.isRoot,
    status: c.status,
  };
  if (c.status === 'ERRORED' || c.status === 'BROKEN') {
    out.componentStatusDetails = { statusCodes: [...(c.statusCodes ?? [])] };
    if (c.statusReason) out.componentStatusDetails.statusReason = c.statusReason;
  }
  return out;
}
