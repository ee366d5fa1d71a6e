// A stored deployment -> the "Configuration" document devices receive (semantics §8.2): the job document of a group
// deployment, and the `fleetConfig` of a thing deployment's shadow. Pure: no I/O.
//
// It differs from the API on purpose, because the nucleus reads it with a case-sensitive mapper that ignores unknown
// fields (a misspelt field is silently lost): components carry `version`, policies `timeout`, `merge` is a JSON object,
// `creationTimestamp` is epoch milliseconds, and every policy is written out with its default.
import type { Deployment, Scope } from '../../store/store.js';
import { configurationArn, parseIotArn } from '../arn.js';
import { MeadowError } from '../errors.js';
import {
  CAPABILITY_ORDER,
  DEFAULT_COMPONENT_UPDATE_ACTION,
  DEFAULT_COMPONENT_UPDATE_TIMEOUT_SECONDS,
  DEFAULT_CONFIGURATION_VALIDATION_TIMEOUT_SECONDS,
  DEFAULT_FAILURE_HANDLING_POLICY,
  SCHEMA_DATE,
  type ComponentUpdateAction,
  type DeploymentCapability,
  type FailureHandlingPolicy,
} from './defaults.js';

export interface DeviceSystemResourceLimits {
  /** Kilobytes. */
  memory?: number;
  /** Share of CPU time, 1.0 = one core. */
  cpus?: number;
}

export interface DeviceRunWith {
  posixUser?: string;
  windowsUser?: string;
  systemResourceLimits?: DeviceSystemResourceLimits;
}

export interface DeviceConfigurationUpdate {
  /** A JSON object, never a string: the nucleus converts it to a map. */
  merge: Record<string, unknown>;
  /** JSON pointers. */
  reset: string[];
}

export interface DeviceComponent {
  version: string;
  runWith?: DeviceRunWith;
  configurationUpdate?: DeviceConfigurationUpdate;
}

export interface DeviceConfiguration {
  deploymentId: string;
  schemaDate: string;
  deploymentName?: string;
  configurationArn: string;
  /** Sub-deployments: the parent thing group's ARN; the nucleus records the deployment under that group. */
  onBehalfOf?: string;
  parentTargetArn?: string;
  /** Epoch milliseconds (the API shows seconds). Orders configuration merges on the device (semantics §3.4). */
  creationTimestamp: number;
  /** Absent when the deployment needs none. */
  requiredCapabilities?: DeploymentCapability[];
  components: Record<string, DeviceComponent>;
  failureHandlingPolicy: FailureHandlingPolicy;
  componentUpdatePolicy: { timeout: number; action: ComponentUpdateAction };
  configurationValidationPolicy: { timeout: number };
}

/** The fields of a stored deployment the document is made of. */
export type DeploymentSource = Pick<
  Deployment,
  'deploymentId' | 'targetArn' | 'revision' | 'deploymentName' | 'parentTargetArn' | 'components' | 'deploymentPolicies' | 'createdAt'
>;

/** `ComponentDeploymentSpecification` as the API takes it (and the store keeps it). */
interface ApiComponentSpec {
  componentVersion: string;
  configurationUpdate?: { merge?: string | Record<string, unknown>; reset?: string[] };
  runWith?: { posixUser?: string; windowsUser?: string; systemResourceLimits?: { memory?: number; cpus?: number } };
}

/** `DeploymentPolicies` as the API takes it. */
interface ApiDeploymentPolicies {
  failureHandlingPolicy?: FailureHandlingPolicy;
  componentUpdatePolicy?: { timeoutInSeconds?: number; action?: ComponentUpdateAction };
  configurationValidationPolicy?: { timeoutInSeconds?: number };
}

/** The full document for a deployment, before any size limit is applied (see delivery.ts for that). */
export function buildConfiguration(d: DeploymentSource, scope: Scope): DeviceConfiguration {
  const target = parseIotArn(d.targetArn);
  if (!target) throw broken(d, `its targetArn ${JSON.stringify(d.targetArn)} is not a thing or thing group ARN`);
  const components = Object.fromEntries(
    Object.entries((d.components ?? {}) as Record<string, ApiComponentSpec>).map(([name, spec]) => [name, deviceComponent(d, name, spec)]),
  );
  const policies = (d.deploymentPolicies ?? {}) as ApiDeploymentPolicies;
  return documentWith(
    {
      deploymentId: d.deploymentId,
      schemaDate: SCHEMA_DATE,
      deploymentName: d.deploymentName,
      configurationArn: configurationArn(scope, target.kind, target.name, d.revision),
      // The nucleus takes the parent group's name out of this ARN (aws-greengrass-nucleus#1341), so the
      // sub-deployment replaces what the parent group deployed on the devices it reaches (semantics §1.3).
      onBehalfOf: d.parentTargetArn,
      parentTargetArn: d.parentTargetArn,
      creationTimestamp: d.createdAt,
      components,
      failureHandlingPolicy: policies.failureHandlingPolicy ?? DEFAULT_FAILURE_HANDLING_POLICY,
      componentUpdatePolicy: {
        timeout: policies.componentUpdatePolicy?.timeoutInSeconds ?? DEFAULT_COMPONENT_UPDATE_TIMEOUT_SECONDS,
        action: policies.componentUpdatePolicy?.action ?? DEFAULT_COMPONENT_UPDATE_ACTION,
      },
      configurationValidationPolicy: {
        timeout: policies.configurationValidationPolicy?.timeoutInSeconds ?? DEFAULT_CONFIGURATION_VALIDATION_TIMEOUT_SECONDS,
      },
    },
    { components, capabilities: capabilitiesOf(components, d.parentTargetArn) },
  );
}

/**
 * The document with other components and capabilities, fields in one fixed order (the order of semantics §8.2),
 * optional fields left out rather than written as null, and capabilities listed once each in CAPABILITY_ORDER.
 */
export function documentWith(
  doc: Omit<DeviceConfiguration, 'requiredCapabilities'>,
  change: { components: Record<string, DeviceComponent>; capabilities: Iterable<DeploymentCapability> },
): DeviceConfiguration {
  const wanted = new Set(change.capabilities);
  const capabilities = CAPABILITY_ORDER.filter((c) => wanted.has(c));
  const out: DeviceConfiguration = {
    deploymentId: doc.deploymentId,
    schemaDate: doc.schemaDate,
    deploymentName: doc.deploymentName,
    configurationArn: doc.configurationArn,
    onBehalfOf: doc.onBehalfOf,
    parentTargetArn: doc.parentTargetArn,
    creationTimestamp: doc.creationTimestamp,
    requiredCapabilities: capabilities.length > 0 ? capabilities : undefined,
    components: change.components,
    failureHandlingPolicy: doc.failureHandlingPolicy,
    componentUpdatePolicy: doc.componentUpdatePolicy,
    configurationValidationPolicy: doc.configurationValidationPolicy,
  };
  return withoutUndefined(out);
}

/** Capabilities the content needs (semantics §8.2); LARGE_CONFIGURATION is delivery's to add. */
function capabilitiesOf(components: Record<string, DeviceComponent>, parentTargetArn: string | undefined): DeploymentCapability[] {
  const out: DeploymentCapability[] = [];
  if (Object.values(components).some((c) => c.runWith?.systemResourceLimits !== undefined)) out.push('LINUX_RESOURCE_LIMITS');
  if (parentTargetArn !== undefined) out.push('SUB_DEPLOYMENTS');
  return out;
}

function deviceComponent(d: DeploymentSource, name: string, spec: ApiComponentSpec): DeviceComponent {
  if (typeof spec?.componentVersion !== 'string') throw broken(d, `component ${name} has no componentVersion`);
  const out: DeviceComponent = { version: spec.componentVersion };
  // Written exactly as given: an absent runWith tells the nucleus to go back to its defaults (semantics §5).
  if (spec.runWith != null) out.runWith = deviceRunWith(spec.runWith);
  const update = spec.configurationUpdate;
  if (update != null) {
    // Both members always present, so readers need no null checks; an empty merge changes nothing (semantics §3.2).
    out.configurationUpdate = { merge: mergeObject(d, name, update.merge), reset: [...(update.reset ?? [])] };
  }
  return out;
}

function deviceRunWith(r: NonNullable<ApiComponentSpec['runWith']>): DeviceRunWith {
  const limits = r.systemResourceLimits;
  return withoutUndefined({
    posixUser: r.posixUser ?? undefined,
    windowsUser: r.windowsUser ?? undefined,
    systemResourceLimits:
      limits == null ? undefined : withoutUndefined({ memory: limits.memory ?? undefined, cpus: limits.cpus ?? undefined }),
  });
}

/** The API's merge string as an object; CreateDeployment has already checked that it is one. */
function mergeObject(d: DeploymentSource, name: string, merge: string | Record<string, unknown> | undefined): Record<string, unknown> {
  if (merge == null) return {};
  let value: unknown;
  try {
    value = typeof merge === 'string' ? JSON.parse(merge) : structuredClone(merge);
  } catch (e) {
    throw broken(d, `the configurationUpdate.merge of component ${name} is not JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw broken(d, `the configurationUpdate.merge of component ${name} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Stored deployments passed CreateDeployment's checks, so a bad one is meadow's fault, not the caller's. */
const broken = (d: DeploymentSource, why: string) =>
  new MeadowError('Internal', `Cannot build the device document of deployment ${d.deploymentId}: ${why}.`);

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
