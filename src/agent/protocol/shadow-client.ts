// The device side of thing deployments through the `AWSManagedGreengrassV2Deployment` named shadow (semantics §8.5;
// NUC `ShadowDeploymentListener`): `get` on start and on every reconnect, `update/delta` for changes; each offers the
// desired `fleetConfig` and `desiredStatus` (with the reported state, on a get) to the agent. Older shadow versions are
// ignored. The agent's reports go out through its outbox (reporting/messages.ts `deploymentShadowReport`).
import type { MqttClient } from 'mqtt';
import { DEPLOYMENT_SHADOW_NAME } from '../../core/device-document/index.js';
import { isRecord } from '../../core/device-document/status-details.js';

export interface ShadowDeploymentOffer {
  fleetConfig: unknown;
  desiredStatus?: string;
  version: number;
  /** `state.reported` when the offer comes from a get. */
  reported?: Record<string, unknown>;
}

export class DeploymentShadowClient {
  private readonly base: string;
  private lastVersion = -1;

  constructor(
    private readonly mqtt: MqttClient,
    thingName: string,
    private readonly onOffer: (offer: ShadowDeploymentOffer) => void,
  ) {
    this.base = `$aws/things/${thingName}/shadow/name/${DEPLOYMENT_SHADOW_NAME}`;
  }

  async start(): Promise<void> {
    this.mqtt.on('message', this.onMessage);
    this.mqtt.on('connect', this.get);
    const b = this.base;
    await this.mqtt.subscribeAsync([`${b}/update/delta`, `${b}/get/accepted`, `${b}/get/rejected`, `${b}/update/accepted`, `${b}/update/rejected`], { qos: 1 });
    this.get();
  }

  stop(): void {
    this.mqtt.off('message', this.onMessage);
    this.mqtt.off('connect', this.get);
  }

  private readonly get = (): void => {
    this.mqtt.publish(`${this.base}/get`, '{}', { qos: 1 }, () => undefined);
  };

  private readonly onMessage = (topic: string, raw: Buffer): void => {
    if (topic !== `${this.base}/get/accepted` && topic !== `${this.base}/update/delta`) return;
    let body: unknown;
    try {
      body = JSON.parse(raw.toString());
    } catch {
      return;
    }
    if (!isRecord(body) || !isRecord(body.state) || typeof body.version !== 'number') return;
    // A get answers the whole document (desired under state.desired); a delta carries the desired keys themselves.
    const fromGet = topic.endsWith('/get/accepted');
    const desired = fromGet ? body.state.desired : body.state;
    if (!isRecord(desired) || desired.fleetConfig === undefined) return;
    if (body.version < this.lastVersion) return;
    this.lastVersion = body.version;
    const reported = fromGet && isRecord(body.state.reported) ? body.state.reported : undefined;
    this.onOffer({
      fleetConfig: desired.fleetConfig,
      desiredStatus: typeof desired.desiredStatus === 'string' ? desired.desiredStatus : undefined,
      version: body.version,
      ...(reported && { reported }),
    });
  };
}
