// The documents of the agent's durable state, and their JSON forms. Configuration trees are kept in the durable form
// of src/core/configuration (serializeTree), everything else as plain JSON. Decoding checks the shape and names the
// document and field that is wrong: state is written only by the agent, so a failure means a damaged disk or a bug.
import { deserializeTree, serializeTree, type ConfigTree } from '../../core/configuration/index.js';
import type { DeviceRunWith } from '../../core/device-document/index.js';

/** What one target last deployed (the nucleus's GroupToRootComponents + GroupToLastDeployment, semantics §1.3). */
export interface PinnedTarget {
  /** Root component name -> the exact version the target last deployed. */
  components: Record<string, string>;
  configurationArn: string;
  /** The deployment's creationTimestamp (epoch ms): an older deployment to the target is stale. */
  timestamp: number;
}

/** By group name: `thinggroup/<name>`, `thing/<thingName>` (a thing deployment), or `LOCAL_DEPLOYMENT`. */
export type PinnedTargets = Record<string, PinnedTarget>;

/** A component as it is on the device now. */
export interface InstalledComponentState {
  version: string;
  configuration: ConfigTree;
  /** The runWith the component's latest deployment gave it; absent means the agent's defaults. */
  runWith?: DeviceRunWith;
}

export type ComponentsState = Record<string, InstalledComponentState>;

/** Where a deployment came from, which is also how its status is reported. */
export type DeploymentSource =
  | { kind: 'job'; jobId: string; queuedAt: number }
  | { kind: 'shadow'; configurationArn: string; shadowVersion?: number };

/**
 * How far the deployment got. PREPARING changes nothing on the device (resolve, download: a failure is
 * FAILED_NO_STATE_CHANGE); ACTIVATING has started changing components (the snapshot restores them); ROLLING_BACK is
 * restoring the snapshot.
 */
export type DeploymentStage = 'PREPARING' | 'ACTIVATING' | 'ROLLING_BACK';

/** What is on the device before a deployment changes it: what a rollback restores. */
export interface DeviceSnapshot {
  components: ComponentsState;
  targets: PinnedTargets;
  /** Components that were running (or finished) before, to start again after a rollback. */
  running: string[];
}

export interface DeploymentInProgress {
  /** The deployment id (for a thing deployment the nucleus uses its configurationArn). */
  id: string;
  source: DeploymentSource;
  /** The Configuration document as received (semantics §8.2). */
  document: Record<string, unknown>;
  stage: DeploymentStage;
  /** Taken before ACTIVATING. */
  snapshot?: DeviceSnapshot;
  /** Why the deployment failed, kept while ROLLING_BACK so a rollback resumed after a restart reports it. */
  failure?: DeploymentFailure;
}

export interface DeploymentFailure {
  failureCause: string;
  errorStack: string[];
  errorTypes: string[];
}

/** The newest job taken, for the nucleus's duplicate check by (queuedAt, jobId) (semantics §8.3). */
export interface LastProcessedJob {
  queuedAt: number;
  jobId: string;
}

/** A status message waiting to be sent (the outbox, src/agent/reporting/outbox.ts). */
export interface OutboxEntry {
  /** Increasing; orders entries and names them in logs. */
  id: number;
  topic: string;
  payload: string;
}

/** The whole durable state; each member is one document. */
export interface AgentState {
  targets: PinnedTargets;
  components: ComponentsState;
  deployment: DeploymentInProgress | null;
  /** The sequence number of the latest fleet-status message sent (0 before the first). */
  fleetStatusSequence: number;
  lastProcessedJob: LastProcessedJob | null;
  outbox: OutboxEntry[];
}

export type StateDocumentName = keyof AgentState;

export const STATE_DOCUMENTS: readonly StateDocumentName[] = ['targets', 'components', 'deployment', 'fleetStatusSequence', 'lastProcessedJob', 'outbox'];

export function initialState(): AgentState {
  return { targets: {}, components: {}, deployment: null, fleetStatusSequence: 0, lastProcessedJob: null, outbox: [] };
}

type Codec<T> = { encode(value: T): unknown; decode(json: unknown, at: string): T };

const plain = <T>(check: (json: unknown, at: string) => T): Codec<T> => ({ encode: (v) => v, decode: check });

const componentsCodec: Codec<ComponentsState> = {
  encode: (components) =>
    Object.fromEntries(Object.entries(components).map(([name, c]) => [name, { ...c, configuration: serializeTree(c.configuration) }])),
  decode: (json, at) =>
    Object.fromEntries(
      Object.entries(record(json, at)).map(([name, raw]) => {
        const c = record(raw, `${at}.${name}`);
        const out: InstalledComponentState = { version: text(c.version, `${at}.${name}.version`), configuration: deserializeTree(c.configuration) };
        if (c.runWith !== undefined) out.runWith = record(c.runWith, `${at}.${name}.runWith`) as DeviceRunWith;
        return [name, out];
      }),
    ),
};

const targetsCodec = plain<PinnedTargets>((json, at) =>
  Object.fromEntries(
    Object.entries(record(json, at)).map(([group, raw]) => {
      const t = record(raw, `${at}.${group}`);
      const components = record(t.components, `${at}.${group}.components`);
      for (const [name, v] of Object.entries(components)) text(v, `${at}.${group}.components.${name}`);
      return [
        group,
        {
          components: components as Record<string, string>,
          configurationArn: text(t.configurationArn, `${at}.${group}.configurationArn`),
          timestamp: int(t.timestamp, `${at}.${group}.timestamp`),
        },
      ];
    }),
  ),
);

const deploymentCodec: Codec<DeploymentInProgress | null> = {
  encode: (d) =>
    d && {
      ...d,
      snapshot: d.snapshot && {
        ...d.snapshot,
        components: componentsCodec.encode(d.snapshot.components),
      },
    },
  decode: (json, at) => {
    if (json === null) return null;
    const d = record(json, at);
    const source = record(d.source, `${at}.source`);
    if (source.kind !== 'job' && source.kind !== 'shadow') throw new StateError(`${at}.source.kind is neither job nor shadow`);
    const out: DeploymentInProgress = {
      id: text(d.id, `${at}.id`),
      source: source as DeploymentSource,
      document: record(d.document, `${at}.document`),
      stage: oneOf(d.stage, ['PREPARING', 'ACTIVATING', 'ROLLING_BACK'] as const, `${at}.stage`),
    };
    if (d.failure !== undefined) {
      const f = record(d.failure, `${at}.failure`);
      const list = (v: unknown, where: string) => {
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new StateError(`${where} is not a list of strings`);
        return v as string[];
      };
      out.failure = { failureCause: text(f.failureCause, `${at}.failure.failureCause`), errorStack: list(f.errorStack, `${at}.failure.errorStack`), errorTypes: list(f.errorTypes, `${at}.failure.errorTypes`) };
    }
    if (d.snapshot !== undefined) {
      const s = record(d.snapshot, `${at}.snapshot`);
      const running = s.running;
      if (!Array.isArray(running) || running.some((r) => typeof r !== 'string')) throw new StateError(`${at}.snapshot.running is not a list of names`);
      out.snapshot = {
        components: componentsCodec.decode(s.components, `${at}.snapshot.components`),
        targets: targetsCodec.decode(s.targets, `${at}.snapshot.targets`),
        running: running as string[],
      };
    }
    return out;
  },
};

export const CODECS: { [K in StateDocumentName]: Codec<AgentState[K]> } = {
  targets: targetsCodec,
  components: componentsCodec,
  deployment: deploymentCodec,
  fleetStatusSequence: plain((json, at) => int(json, at)),
  lastProcessedJob: plain((json, at) => {
    if (json === null) return null;
    const j = record(json, at);
    return { queuedAt: int(j.queuedAt, `${at}.queuedAt`), jobId: text(j.jobId, `${at}.jobId`) };
  }),
  outbox: plain((json, at) => {
    if (!Array.isArray(json)) throw new StateError(`${at} is not a list`);
    return json.map((raw, i) => {
      const e = record(raw, `${at}[${i}]`);
      return { id: int(e.id, `${at}[${i}].id`), topic: text(e.topic, `${at}[${i}].topic`), payload: text(e.payload, `${at}[${i}].payload`) };
    });
  }),
};

/** The agent's state on disk is not what the agent writes. */
export class StateError extends Error {}

function record(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new StateError(`${at} is not an object`);
  return v as Record<string, unknown>;
}

function text(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new StateError(`${at} is not a string`);
  return v;
}

function int(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new StateError(`${at} is not an integer`);
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], at: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new StateError(`${at} is not one of ${allowed.join(', ')}`);
  return v as T;
}
