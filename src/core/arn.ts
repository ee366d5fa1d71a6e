// ARNs of every resource meadow serves, built and parsed in one place.
import type { Scope } from '../store/store.js';

export const PARTITION = 'aws';

export const thingArn = (s: Scope, name: string) => `arn:${PARTITION}:iot:${s.region}:${s.accountId}:thing/${name}`;
export const thingGroupArn = (s: Scope, name: string) => `arn:${PARTITION}:iot:${s.region}:${s.accountId}:thinggroup/${name}`;
export const iotJobArn = (s: Scope, jobId: string) => `arn:${PARTITION}:iot:${s.region}:${s.accountId}:job/${jobId}`;
export const deploymentArn = (s: Scope, id: string) => `arn:${PARTITION}:greengrass:${s.region}:${s.accountId}:deployments:${id}`;

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
