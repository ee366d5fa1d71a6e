// ARNs of every resource meadow serves, built and parsed in one place.
import type { Scope } from '../store/store.js';

export const PARTITION = 'aws';

export const thingArn = (s: Scope, name: string) => `arn:${PARTITION}:iot:${s.region}:${s.accountId}:thing/${name}`;
export const thingGroupArn = (s: Scope, name: string) => `arn:${PARTITION}:iot:${s.region}:${s.accountId}:thinggroup/${name}`;
export const certificateArn = (s: Scope, certificateId: string) => `arn:${PARTITION}:iot:${s.region}:${s.accountId}:cert/${certificateId}`;
export const caCertificateArn = (s: Scope, certificateId: string) => `arn:${PARTITION}:iot:${s.region}:${s.accountId}:cacert/${certificateId}`;
export const iotJobArn = (s: Scope, jobId: string) => `arn:${PARTITION}:iot:${s.region}:${s.accountId}:job/${jobId}`;
export const deploymentArn = (s: Scope, id: string) => `arn:${PARTITION}:greengrass:${s.region}:${s.accountId}:deployments:${id}`;
export const coreDeviceArn = (s: Scope, thingName: string) => `arn:${PARTITION}:greengrass:${s.region}:${s.accountId}:coreDevices:${thingName}`;
/**
 * The revision of a target's deployment as devices see it (semantics §1.1): the nucleus keys all per-target state by
 * the `thinggroup/NAME` / `thing/NAME` part and ignores the revision suffix.
 */
export const configurationArn = (s: Scope, kind: 'thing' | 'thinggroup', name: string, revision: number) =>
  `arn:${PARTITION}:greengrass:${s.region}:${s.accountId}:configuration:${kind}/${name}:${revision}`;

/** Parses `arn:PARTITION:greengrass:REGION:ACCOUNT:configuration:(thing|thinggroup)/NAME:REVISION`. */
export function parseConfigurationArn(arn: string): { region: string; accountId: string; kind: 'thing' | 'thinggroup'; name: string; revision: number } | undefined {
  const m = /^arn:[^:]*:greengrass:([^:]*):([0-9]+):configuration:(thing|thinggroup)\/(.+):([0-9]+)$/.exec(arn);
  return m ? { region: m[1], accountId: m[2], kind: m[3] as 'thing' | 'thinggroup', name: m[4], revision: Number(m[5]) } : undefined;
}

export interface IotResourceRef {
  kind: 'thing' | 'thinggroup';
  name: string;
  region: string;
  accountId: string;
}

/** Parses `arn:PARTITION:iot:REGION:ACCOUNT:(thing|thinggroup)/NAME`. */
export function parseIotArn(arn: string): IotResourceRef | undefined {
  const m = /^arn:[^:]*:iot:([^:]*):([0-9]+):(thing|thinggroup)\/(.+)$/.exec(arn);
  return m ? { region: m[1], accountId: m[2], kind: m[3] as IotResourceRef['kind'], name: m[4] } : undefined;
}

/** Parses `arn:PARTITION:iot:REGION:ACCOUNT:cert/ID`. */
export function parseCertificateArn(arn: string): { region: string; accountId: string; certificateId: string } | undefined {
  const m = /^arn:[^:]*:iot:([^:]*):([0-9]+):cert\/([^/]+)$/.exec(arn);
  return m ? { region: m[1], accountId: m[2], certificateId: m[3] } : undefined;
}

export interface GreengrassResourceRef {
  kind: 'components' | 'deployments' | 'coreDevices';
  /** Everything after `<kind>:`, e.g. a deployment id or `NAME:versions:VERSION`. */
  id: string;
  region: string;
  accountId: string;
}

/** Parses the taggable Greengrass ARNs (`GenericV2ARN`). */
export function parseGreengrassArn(arn: string): GreengrassResourceRef | undefined {
  const m = /^arn:[^:]*:greengrass:([^:]*):(aws|[0-9]+):(components|deployments|coreDevices):(.+)$/.exec(arn);
  return m ? { region: m[1], accountId: m[2], kind: m[3] as GreengrassResourceRef['kind'], id: m[4] } : undefined;
}

/** True when an ARN names this meadow's own region and account. */
export const inScope = (ref: { region: string; accountId: string }, s: Scope) => ref.region === s.region && ref.accountId === s.accountId;

/** Account field of AWS-provided public components' ARNs. */
export const PUBLIC_ACCOUNT = 'aws';

export const componentArn = (region: string, account: string, name: string) => `arn:${PARTITION}:greengrass:${region}:${account}:components:${name}`;
export const componentVersionArn = (region: string, account: string, name: string, version: string) =>
  `${componentArn(region, account, name)}:versions:${version}`;

export interface ComponentRef {
  region: string;
  /** 12 digits, or `aws` for public components. */
  accountId: string;
  name: string;
  version?: string;
}

/** Parses a component ARN, with or without `:versions:VERSION`. */
export function parseComponentArn(arn: string): ComponentRef | undefined {
  const m = /^arn:[^:]*:greengrass:([^:]*):(aws|[0-9]+):components:([^:]+)(?::versions:([^:]+))?$/.exec(arn);
  return m ? { region: m[1], accountId: m[2], name: m[3], version: m[4] } : undefined;
}
