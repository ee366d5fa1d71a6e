// The device's reading of a "Configuration" document (semantics §8.2), the counterpart of buildConfiguration: the
// nucleus reads it case-sensitively, ignores unknown fields, fills absent policies with their defaults, and fails a
// document it cannot use with DEPLOYMENT_DOCUMENT_PARSE_ERROR. Also which target ("group") a document deploys to
// (§1.3). Pure.
import { parseConfigurationArn, parseIotArn } from '../arn.js';
import { DeploymentError } from '../deployment-errors.js';
import type { DeviceComponent, DeviceConfiguration } from './configuration.js';
import {
  CAPABILITY_ORDER,
  DEFAULT_COMPONENT_UPDATE_ACTION,
  DEFAULT_COMPONENT_UPDATE_TIMEOUT_SECONDS,
  DEFAULT_CONFIGURATION_VALIDATION_TIMEOUT_SECONDS,
  DEFAULT_FAILURE_HANDLING_POLICY,
  SCHEMA_DATE,
  type DeploymentCapability,
} from './defaults.js';
import { isRecord } from './status-details.js';

const bad = (why: string) => new DeploymentError(`The deployment document is not valid: ${why}.`, ['DEPLOYMENT_DOCUMENT_NOT_VALID', 'DEPLOYMENT_DOCUMENT_PARSE_ERROR']);

/** A job document or a shadow's `fleetConfig` (an object, or the JSON text of one) as the device uses it. */
export function readDeviceConfiguration(raw: unknown): DeviceConfiguration {
  let doc = raw;
  if (typeof raw === 'string') {
    try {
      doc = JSON.parse(raw);
    } catch (e) {
      throw bad(`it is not JSON (${(e as Error).message})`);
    }
  }
  if (!isRecord(doc)) throw bad('it is not a JSON object');
  const text = (key: string, required: boolean): string | undefined => {
    const v = doc[key];
    if (v === undefined || v === null) {
      if (required) throw bad(`${key} is missing`);
      return undefined;
    }
    if (typeof v !== 'string' || v === '') throw bad(`${key} is not a non-empty string`);
    return v;
  };
  const components = doc.components ?? {};
  if (!isRecord(components)) throw bad('components is not an object');
  const out: Record<string, DeviceComponent> = {};
  for (const [name, c] of Object.entries(components)) {
    if (!isRecord(c) || typeof c.version !== 'string' || c.version === '') throw bad(`component ${name} has no version`);
    const entry: DeviceComponent = { version: c.version };
    if (isRecord(c.runWith)) entry.runWith = c.runWith as DeviceComponent['runWith'];
    if (isRecord(c.configurationUpdate)) {
      const u = c.configurationUpdate;
      if (u.merge != null && !isRecord(u.merge)) throw bad(`the configurationUpdate.merge of component ${name} is not an object`);
      if (u.reset != null && (!Array.isArray(u.reset) || u.reset.some((p) => typeof p !== 'string'))) {
        throw bad(`the configurationUpdate.reset of component ${name} is not a list of strings`);
      }
      entry.configurationUpdate = { merge: (u.merge as Record<string, unknown>) ?? {}, reset: (u.reset as string[]) ?? [] };
    }
    out[name] = entry;
  }
  const created = doc.creationTimestamp;
  if (typeof created !== 'number' || !Number.isFinite(created)) throw bad('creationTimestamp is not a number');
  const policy = <T>(v: unknown, fallback: T): T => (v === undefined || v === null ? fallback : (v as T));
  const cup = isRecord(doc.componentUpdatePolicy) ? doc.componentUpdatePolicy : {};
  const cvp = isRecord(doc.configurationValidationPolicy) ? doc.configurationValidationPolicy : {};
  const capabilities = doc.requiredCapabilities;
  if (capabilities != null && (!Array.isArray(capabilities) || capabilities.some((c) => typeof c !== 'string'))) {
    throw bad('requiredCapabilities is not a list of strings');
  }
  const failureHandlingPolicy = policy(doc.failureHandlingPolicy, DEFAULT_FAILURE_HANDLING_POLICY);
  if (failureHandlingPolicy !== 'ROLLBACK' && failureHandlingPolicy !== 'DO_NOTHING') throw bad(`failureHandlingPolicy ${String(failureHandlingPolicy)} is unknown`);
  const action = policy(cup.action, DEFAULT_COMPONENT_UPDATE_ACTION);
  if (action !== 'NOTIFY_COMPONENTS' && action !== 'SKIP_NOTIFY_COMPONENTS') throw bad(`componentUpdatePolicy.action ${String(action)} is unknown`);
  const result: DeviceConfiguration = {
    deploymentId: text('deploymentId', true)!,
    schemaDate: text('schemaDate', false) ?? SCHEMA_DATE,
    configurationArn: text('configurationArn', true)!,
    creationTimestamp: created,
    components: out,
    failureHandlingPolicy,
    componentUpdatePolicy: { timeout: Number(policy(cup.timeout, DEFAULT_COMPONENT_UPDATE_TIMEOUT_SECONDS)), action },
    configurationValidationPolicy: { timeout: Number(policy(cvp.timeout, DEFAULT_CONFIGURATION_VALIDATION_TIMEOUT_SECONDS)) },
  };
  const optional = { deploymentName: text('deploymentName', false), onBehalfOf: text('onBehalfOf', false), parentTargetArn: text('parentTargetArn', false) };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (result as unknown as Record<string, unknown>)[k] = v;
  if (capabilities != null) result.requiredCapabilities = capabilities as DeploymentCapability[];
  return result;
}

/** Capabilities the document requires that the device lacks (the agent has all three the nucleus has). */
export function missingCapabilities(doc: DeviceConfiguration, supported: readonly string[] = CAPABILITY_ORDER): string[] {
  return (doc.requiredCapabilities ?? []).filter((c) => !supported.includes(c));
}

/**
 * The target a document deploys to, as the nucleus names groups: `thinggroup/<name>` or `thing/<name>` from the
 * configurationArn; a sub-deployment's `onBehalfOf` parent group replaces it (semantics §1.3).
 */
export function deploymentGroupName(doc: Pick<DeviceConfiguration, 'configurationArn' | 'onBehalfOf'>): string {
  if (doc.onBehalfOf) {
    const parent = parseIotArn(doc.onBehalfOf);
    if (parent?.kind === 'thinggroup') return `thinggroup/${parent.name}`;
  }
  const ref = parseConfigurationArn(doc.configurationArn);
  if (!ref) throw bad(`configurationArn ${doc.configurationArn} is not a configuration ARN`);
  return `${ref.kind}/${ref.name}`;
}
