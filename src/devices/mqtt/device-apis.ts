// The three device MQTT APIs (jobs, shadows, fleet status) on one transport, whichever broker carries the messages:
// meadow's embedded aedes (broker.ts) or an external broker reached as a service client (external-broker.ts). The
// transport hands over each publish of an authenticated thing, and publishes what the APIs send; this module also
// turns the engine's committed changes (execution-events.ts, shadow-events.ts) into notifications.
import type { Clock } from '../../core/clock.js';
import { onExecutionsChanged } from '../../engine/execution-events.js';
import { onShadowChanged } from '../../engine/shadow-events.js';
import type { Scope, Store } from '../../store/store.js';
import { MqttFleetStatus } from './fleet-status.js';
import { MqttJobsApi } from './jobs-api.js';
import { MqttShadowApi } from './shadow-api.js';

export type DeviceLog = { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };

/** What the APIs need of a broker. */
export interface DeviceTransport {
  /** Publishes to a device topic at QoS 1; resolves when the broker has taken the message. */
  publish(topic: string, payload: object): Promise<void>;
  /**
   * Whether a notification for this thing may reach it: the embedded broker knows its connections; an external one
   * does not tell, so every change is published there (the broker drops what nobody subscribed to).
   */
  mayReach(thingName: string): boolean;
}

export interface DeviceApisOptions {
  store: Store;
  scope: Scope;
  clock: Clock;
  transport: DeviceTransport;
  log: DeviceLog;
}

export class DeviceApis {
  private readonly jobs: MqttJobsApi;
  private readonly shadows: MqttShadowApi;
  private readonly fleetStatus: MqttFleetStatus;
  private readonly stops: (() => void)[];

  constructor(opts: DeviceApisOptions) {
    const { store, scope, clock, transport, log } = opts;
    const publish = (topic: string, payload: object) => transport.publish(topic, payload);
    this.jobs = new MqttJobsApi({ store, scope, clock, publish, log });
    this.shadows = new MqttShadowApi({ store, scope, clock, publish });
    this.fleetStatus = new MqttFleetStatus({ store, scope, clock, log });
    const inScope = (s: Scope) => s.accountId === scope.accountId && s.region === scope.region;
    this.stops = [
      // Tell devices when the engine changes their executions (changes committed by this process).
      onExecutionsChanged((change) => {
        if (!inScope(change.scope)) return;
        for (const thing of change.thingNames) {
          if (!transport.mayReach(thing)) continue;
          this.jobs.notify(thing);
        }
      }),
      // Publish committed shadow changes (a device's or meadow's own, e.g. a thing deployment) to the thing.
      onShadowChanged((change) => {
        if (!inScope(change.scope) || !transport.mayReach(change.thingName)) return;
        this.shadows.published(change).catch((err) => log.error({ err, thing: change.thingName }, 'MQTT shadow publication failed'));
      }),
    ];
  }

  /** Serves a publish of `thingName` (the transport has established that the topic is the thing's own). */
  async handle(thingName: string, topic: string, payload: Buffer): Promise<void> {
    await Promise.all([this.jobs.handle(thingName, topic, payload), this.fleetStatus.handle(thingName, topic, payload), this.shadows.handle(thingName, topic, payload)]);
  }

  /** The thing disconnected (when the transport knows): its next notify-next is sent afresh. */
  disconnected(thingName: string): void {
    this.jobs.forget(thingName);
  }

  /** Stops listening to the engine's changes. */
  close(): void {
    for (const stop of this.stops) stop();
  }
}
