// What a fleet-status message does to the core device meadow keeps (semantics §8.6, §8.7): the first message creates
// the device (there is no register API); a message older than the newest one seen is ignored; a COMPLETE message
// replaces the component list (a chunked one only once every chunk of its sequence arrived), a PARTIAL one upserts.
import type { CoreDeviceStatus, FleetStatusMessage, LifecycleState, ReportedComponent } from './message.js';

/** API `CoreDeviceRuntimeString` of the Java nucleus; messages do not say which runtime sent them. */
export const NUCLEUS_CLASSIC_RUNTIME = 'aws_nucleus_classic';

/** `lastInstallationSource` of components a local deployment brought (API `InstalledComponent`). */
export const LOCAL_INSTALLATION_SOURCE = 'LOCAL';

export interface CoreDevice {
  thingName: string;
  coreVersion: string;
  platform: string;
  architecture: string;
  runtime: string;
  status: CoreDeviceStatus;
  /** When meadow received the latest status message (epoch ms). */
  lastStatusUpdateAt: number;
  /** The newest sequenceNumber seen; undefined while the device has sent none. */
  lastSequenceNumber?: number;
  createdAt: number;
}

export interface InstalledComponent {
  componentName: string;
  componentVersion: string;
  lifecycleState: LifecycleState;
  lifecycleStateDetails?: string;
  lifecycleStatusCodes: string[];
  isRoot: boolean;
  /** When the component's version or lifecycle state last changed, as far as meadow saw it. */
  lastStatusChangeAt: number;
  /** When a status message last reported the component. */
  lastReportedAt: number;
  /** The deployment id that last brought the component, or LOCAL; undefined until a deployment did. */
  lastInstallationSource?: string;
}

/** True when the device already sent a newer message (equal numbers are the chunks of one message, or a resend). */
export function isStale(device: CoreDevice | undefined, message: FleetStatusMessage): boolean {
  return device?.lastSequenceNumber !== undefined && message.sequenceNumber !== undefined && message.sequenceNumber < device.lastSequenceNumber;
}

/** What the message does to the component list once its chunks are accounted for. */
export type ComponentsUpdate = { mode: 'replace' | 'upsert'; components: ReportedComponent[] } | { mode: 'none' };

/**
 * The component update of a message. `chunksSoFar` are the components of every chunk of a chunked COMPLETE message
 * received so far (this one included), by chunkId; the list is replaced only when all of them are there.
 */
export function componentsUpdateOf(message: FleetStatusMessage, chunksSoFar?: Map<number, ReportedComponent[]>): ComponentsUpdate {
  if (message.messageType === 'PARTIAL') return { mode: 'upsert', components: message.components };
  if (!message.chunk) return { mode: 'replace', components: message.components };
  // Without a sequence number the chunks of one message cannot be told from another's: upsert, drop nothing.
  if (message.sequenceNumber === undefined) return { mode: 'upsert', components: message.components };
  const chunks = chunksSoFar ?? new Map();
  if (chunks.size < message.chunk.totalChunks) return { mode: 'none' };
  const ids = [...chunks.keys()].sort((a, b) => a - b);
  return { mode: 'replace', components: ids.flatMap((id) => chunks.get(id)!) };
}

/** The installation source a message's deployment gives the components it brought, if it succeeded. */
function installationSourceOf(message: FleetStatusMessage): string | undefined {
  const d = message.deploymentInformation;
  if (!d || (d.status !== 'SUCCEEDED' && d.status !== 'COMPLETED')) return undefined;
  if (message.trigger === 'LOCAL_DEPLOYMENT') return LOCAL_INSTALLATION_SOURCE;
  return d.deploymentId;
}

/** The device and its installed components after a (not stale) message received at `now`. */
export function applyFleetStatus(
  previous: { device?: CoreDevice; installed: InstalledComponent[] },
  message: FleetStatusMessage,
  update: ComponentsUpdate,
  now: number,
): { device: CoreDevice; installed: InstalledComponent[] } {
  const device: CoreDevice = {
    thingName: message.thing,
    coreVersion: message.ggcVersion,
    platform: message.platform,
    architecture: message.architecture,
    runtime: previous.device?.runtime ?? NUCLEUS_CLASSIC_RUNTIME,
    status: message.overallDeviceStatus,
    lastStatusUpdateAt: now,
    lastSequenceNumber: message.sequenceNumber ?? previous.device?.lastSequenceNumber,
    createdAt: previous.device?.createdAt ?? now,
  };
  const before = new Map(previous.installed.map((c) => [c.componentName, c]));
  const source = installationSourceOf(message);
  const after = update.mode === 'replace' ? new Map<string, InstalledComponent>() : new Map(before);
  if (update.mode !== 'none') {
    for (const reported of update.components) {
      const old = before.get(reported.componentName);
      const changed = !old || old.componentVersion !== reported.version || old.lifecycleState !== reported.status;
      const next: InstalledComponent = {
        componentName: reported.componentName,
        componentVersion: reported.version,
        lifecycleState: reported.status,
        lifecycleStatusCodes: reported.statusCodes,
        isRoot: reported.isRoot,
        lastStatusChangeAt: changed ? now : old.lastStatusChangeAt,
        lastReportedAt: now,
      };
      if (reported.statusReason !== undefined) next.lifecycleStateDetails = reported.statusReason;
      const installationSource = source ?? old?.lastInstallationSource;
      if (installationSource !== undefined) next.lastInstallationSource = installationSource;
      after.set(reported.componentName, next);
    }
  }
  if (source !== undefined) {
    for (const name of message.deploymentInformation?.unchangedRootComponents ?? []) {
      const c = after.get(name);
      if (c) after.set(name, { ...c, lastInstallationSource: source });
    }
  }
  return { device, installed: [...after.values()] };
}
