// A core device's fleet-status (health) message, as the nucleus publishes it on
// `$aws/things/<thing>/greengrassv2/health/json` (semantics §8.6; NUC `status/model/FleetStatusDetails.java`).
// Device input is never trusted: parseFleetStatus either returns a checked message or says what is wrong with it.
// Jackson writes absent optional members as null, so null counts as absent throughout.
import { isRecord } from '../device-document/status-details.js';

export const CORE_DEVICE_STATUSES = ['HEALTHY', 'UNHEALTHY'] as const;
export type CoreDeviceStatus = (typeof CORE_DEVICE_STATUSES)[number];

/** API `InstalledComponentLifecycleState` = the nucleus's service states. */
export const LIFECYCLE_STATES = ['NEW', 'INSTALLED', 'STARTING', 'RUNNING', 'STOPPING', 'ERRORED', 'BROKEN', 'FINISHED'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/** API `CoreDevicePlatformString` / `CoreDeviceArchitectureString` / `GGCVersion` and component names: at most 255. */
const MAX_TEXT = 255;

export interface ReportedComponent {
  componentName: string;
  version: string;
  status: LifecycleState;
  isRoot: boolean;
  /** `componentStatusDetails.statusCodes` (the nucleus model names it `statusCode`; both are read). */
  statusCodes: string[];
  statusReason?: string;
}

export interface ReportedDeployment {
  status?: string;
  deploymentId?: string;
  fleetConfigurationArnForStatus?: string;
  /** Roots the deployment left unchanged: they were still brought by it (their installation source moves to it). */
  unchangedRootComponents: string[];
}

export interface FleetStatusMessage {
  thing: string;
  ggcVersion: string;
  platform: string;
  architecture: string;
  overallDeviceStatus: CoreDeviceStatus;
  /** Undefined when the device sent none (then no message counts as stale). */
  sequenceNumber?: number;
  /** Device time, epoch ms. */
  timestamp?: number;
  /** Absent on nucleus releases before message types; such messages are read as PARTIAL. */
  messageType: 'COMPLETE' | 'PARTIAL';
  trigger?: string;
  chunk?: { chunkId: number; totalChunks: number };
  components: ReportedComponent[];
  deploymentInformation?: ReportedDeployment;
}

export type ParsedFleetStatus = { ok: true; message: FleetStatusMessage } | { ok: false; reason: string };

class Malformed extends Error {}

/** Parses a raw health message published by `topicThing`; a body naming another thing is malformed. */
export function parseFleetStatus(raw: Buffer | string, topicThing: string): ParsedFleetStatus {
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, reason: 'the payload is not valid JSON' };
  }
  try {
    return { ok: true, message: readMessage(value, topicThing) };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, reason: e.message };
    throw e;
  }
}

function readMessage(v: unknown, topicThing: string): FleetStatusMessage {
  if (!isRecord(v)) throw new Malformed('the payload must be a JSON object');
  const thing = text(v, 'thing');
  if (thing !== topicThing) throw new Malformed(`thing '${thing}' is not the thing of the topic ('${topicThing}')`);
  const overallDeviceStatus = oneOf(v, 'overallDeviceStatus', CORE_DEVICE_STATUSES);
  const messageType = optionalOneOf(v, 'messageType', ['COMPLETE', 'PARTIAL'] as const) ?? 'PARTIAL';
  const components = v.components ?? [];
  if (!Array.isArray(components)) throw new Malformed('components must be a list');
  return {
    thing,
    ggcVersion: text(v, 'ggcVersion'),
    platform: text(v, 'platform'),
    architecture: text(v, 'architecture'),
    overallDeviceStatus,
    sequenceNumber: optionalInteger(v, 'sequenceNumber'),
    timestamp: optionalInteger(v, 'timestamp'),
    messageType,
    trigger: optionalText(v, 'trigger'),
    chunk: readChunk(v.chunkInfo),
    components: components.map((c, i) => readComponent(c, `components[${i}]`)),
    deploymentInformation: readDeployment(v.deploymentInformation),
  };
}

function readChunk(v: unknown): FleetStatusMessage['chunk'] {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new Malformed('chunkInfo must be an object');
  const chunkId = optionalInteger(v, 'chunkId', 'chunkInfo.');
  const totalChunks = optionalInteger(v, 'totalChunks', 'chunkInfo.');
  if (chunkId === undefined || totalChunks === undefined || totalChunks < 1 || chunkId >= totalChunks) {
    throw new Malformed('chunkInfo needs chunkId and totalChunks with 0 <= chunkId < totalChunks');
  }
  return totalChunks > 1 ? { chunkId, totalChunks } : undefined;
}

function readComponent(v: unknown, at: string): ReportedComponent {
  if (!isRecord(v)) throw new Malformed(`${at} must be an object`);
  const details = v.componentStatusDetails;
  if (details !== undefined && details !== null && !isRecord(details)) throw new Malformed(`${at}.componentStatusDetails must be an object`);
  const codes = isRecord(details) ? (details.statusCodes ?? details.statusCode ?? []) : [];
  if (!Array.isArray(codes) || codes.some((c) => typeof c !== 'string')) throw new Malformed(`${at}.componentStatusDetails.statusCodes must be a list of strings`);
  const isRoot = v.isRoot ?? false;
  if (typeof isRoot !== 'boolean') throw new Malformed(`${at}.isRoot must be true or false`);
  const reason = isRecord(details) ? details.statusReason : undefined;
  return {
    componentName: text(v, 'componentName', `${at}.`),
    version: text(v, 'version', `${at}.`),
    status: oneOf(v, 'status', LIFECYCLE_STATES, `${at}.`),
    isRoot,
    statusCodes: (codes as string[]).filter((c) => c.length > 0).map((c) => c.slice(0, MAX_TEXT)),
    ...(typeof reason === 'string' && reason.length > 0 ? { statusReason: reason } : {}),
  };
}

function readDeployment(v: unknown): ReportedDeployment | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new Malformed('deploymentInformation must be an object');
  const unchanged = v.unchangedRootComponents ?? [];
  if (!Array.isArray(unchanged) || unchanged.some((c) => typeof c !== 'string')) {
    throw new Malformed('deploymentInformation.unchangedRootComponents must be a list of strings');
  }
  return {
    status: optionalText(v, 'status', 'deploymentInformation.'),
    deploymentId: optionalText(v, 'deploymentId', 'deploymentInformation.'),
    fleetConfigurationArnForStatus: optionalText(v, 'fleetConfigurationArnForStatus', 'deploymentInformation.'),
    unchangedRootComponents: unchanged as string[],
  };
}

function text(v: Record<string, unknown>, field: string, at = ''): string {
  const s = v[field];
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_TEXT) throw new Malformed(`${at}${field} must be a string of 1 to ${MAX_TEXT} characters`);
  return s;
}

function optionalText(v: Record<string, unknown>, field: string, at = ''): string | undefined {
  return v[field] === undefined || v[field] === null ? undefined : text(v, field, at);
}

function optionalInteger(v: Record<string, unknown>, field: string, at = ''): number | undefined {
  const n = v[field];
  if (n === undefined || n === null) return undefined;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new Malformed(`${at}${field} must be a non-negative integer`);
  return n;
}

function oneOf<T extends string>(v: Record<string, unknown>, field: string, allowed: readonly T[], at = ''): T {
  const s = v[field];
  if (typeof s !== 'string' || !(allowed as readonly string[]).includes(s)) throw new Malformed(`${at}${field} must be one of ${allowed.join(', ')}`);
  return s as T;
}

function optionalOneOf<T extends string>(v: Record<string, unknown>, field: string, allowed: readonly T[], at = ''): T | undefined {
  return v[field] === undefined || v[field] === null ? undefined : oneOf(v, field, allowed, at);
}
