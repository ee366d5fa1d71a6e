// Fleet status over MQTT (semantics §8.6, §8.7): a core device publishes its health on
// `$aws/things/<thing>/greengrassv2/health/json` (QoS 1, no reply). The broker only lets a thing publish on its own
// topics, so the topic's thing is the sender. Each message is checked (src/core/fleet-status), then applied to the
// device's record, many devices' messages in one transaction; a malformed one is logged and dropped. One thing's
// messages are applied one after another in arrival order, so a device's sequence numbers and chunks are judged in
// the order it sent them.
import type { Clock } from '../../core/clock.js';
import {
  applyFleetStatus,
  componentsUpdateOf,
  isStale,
  parseFleetStatus,
  type FleetStatusMessage,
  type ReportedComponent,
} from '../../core/fleet-status/index.js';
import type { CoreDevice, InstalledComponent, Scope, Store } from '../../store/store.js';
import { fleetStatusTopic } from '../../core/device-topics.js';
import { GroupCommit } from '../../engine/group-commit.js';

export interface FleetStatusDeps {
  store: Store;
  scope: Scope;
  clock: Clock;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export type FleetStatusOutcome = 'applied' | 'stale' | 'waiting-for-chunks';

/** A checked message and when it arrived. */
interface Received {
  now: number;
  message: FleetStatusMessage;
}

/**
 * Applies checked messages to the store in one transaction, in order (messages of one thing in the order it sent
 * them), returning each one's outcome. The usual message (one thing's, no chunks involved) is applied together with
 * the others: devices and their components read in one query each and written in one statement each.
 */
export async function ingestFleetStatus(store: Store, scope: Scope, received: Received[]): Promise<FleetStatusOutcome[]> {
  return store.transaction(async (tx) => {
    const things = received.map((r) => r.message.thing);
    const outcomes = new Array<FleetStatusOutcome>(received.length);
    // Alone: a thing twice in the batch, a message with chunks, a thing with chunks kept (they may have to go).
    const withChunks = await tx.thingsWithStatusChunks(scope, things);
    const times = new Map<string, number>();
    for (const t of things) times.set(t, (times.get(t) ?? 0) + 1);
    const alone = received.map((r) => times.get(r.message.thing)! > 1 || r.message.chunk !== undefined || withChunks.has(r.message.thing));
    for (let i = 0; i < received.length; i++) {
      if (alone[i]) outcomes[i] = await applyMessage(tx, scope, received[i].now, received[i].message);
    }
    const together = received.map((_, i) => i).filter((i) => !alone[i]);
    if (together.length === 0) return outcomes;

    const names = together.map((i) => things[i]);
    const devices = new Map((await tx.getCoreDevices(scope, names)).map((d) => [d.thingName, d]));
    const installed = await tx.installedComponentsOf(scope, names);
    const nextDevices: CoreDevice[] = [];
    const nextInstalled = new Map<string, InstalledComponent[]>();
    for (const i of together) {
      const { now, message } = received[i];
      const device = devices.get(message.thing);
      if (isStale(device, message)) {
        outcomes[i] = 'stale';
        continue;
      }
      const update = componentsUpdateOf(message);
      const next = applyFleetStatus({ device, installed: installed.get(message.thing)! }, message, update, now);
      nextDevices.push(next.device);
      nextInstalled.set(message.thing, next.installed);
      outcomes[i] = update.mode === 'none' ? 'waiting-for-chunks' : 'applied';
    }
    await tx.putCoreDevices(scope, nextDevices);
    await tx.replaceInstalledComponents(scope, nextInstalled);
    return outcomes;
  });
}

/** One message on its own, with its chunks (kept until the last one arrives, dropped once outdated). */
async function applyMessage(tx: Store, scope: Scope, now: number, message: FleetStatusMessage): Promise<FleetStatusOutcome> {
  const thing = message.thing;
  const device = await tx.getCoreDevice(scope, thing);
  if (isStale(device, message)) return 'stale';
  const seq = message.sequenceNumber;
  let chunks: Map<number, ReportedComponent[]> | undefined;
  if (seq !== undefined) {
    if (seq > 0) await tx.deleteStatusChunks(scope, thing, seq - 1); // an older message's chunks can no longer apply
    if (message.messageType === 'COMPLETE' && message.chunk) {
      await tx.putStatusChunk(scope, thing, seq, message.chunk.chunkId, message.components);
      const kept = await tx.statusChunks(scope, thing, seq);
      chunks = new Map(kept.map((c) => [c.chunkId, c.components as ReportedComponent[]]));
    }
  }
  const update = componentsUpdateOf(message, chunks);
  if (chunks && update.mode === 'replace') await tx.deleteStatusChunks(scope, thing, seq!);
  const installed = (await tx.installedComponentsOf(scope, [thing])).get(thing)!;
  const next = applyFleetStatus({ device, installed }, message, update, now);
  await tx.putCoreDevices(scope, [next.device]);
  await tx.replaceInstalledComponents(scope, new Map([[thing, next.installed]]));
  return update.mode === 'none' ? 'waiting-for-chunks' : 'applied';
}

export class MqttFleetStatus {
  /** Per thing, the message being applied (and those queued behind it). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Messages of many devices that arrive together are applied in one transaction. */
  private readonly batches: GroupCommit<Received, FleetStatusOutcome>;

  constructor(private readonly deps: FleetStatusDeps) {
    this.batches = new GroupCommit((received) => ingestFleetStatus(deps.store, deps.scope, received));
  }

  /** Takes a device's publish if it is its health topic (anything else is left alone). */
  handle(thingName: string, topic: string, payload: Buffer): Promise<void> {
    if (topic !== fleetStatusTopic(thingName)) return Promise.resolve();
    const run = (this.queues.get(thingName) ?? Promise.resolve()).then(() => this.apply(thingName, payload));
    this.queues.set(thingName, run);
    void run.then(() => {
      if (this.queues.get(thingName) === run) this.queues.delete(thingName);
    });
    return run;
  }

  private async apply(thingName: string, payload: Buffer): Promise<void> {
    const parsed = parseFleetStatus(payload, thingName);
    if (!parsed.ok) {
      this.deps.log.warn({ thing: thingName, reason: parsed.reason }, 'fleet status message dropped');
      return;
    }
    try {
      const outcome = await this.batches.submit('fleet-status', { now: this.deps.clock.now(), message: parsed.message });
      if (outcome === 'stale') {
        this.deps.log.warn({ thing: thingName, sequenceNumber: parsed.message.sequenceNumber }, 'fleet status message older than the newest one seen; ignored');
      }
    } catch (err) {
      this.deps.log.error({ err, thing: thingName }, 'fleet status message could not be stored');
    }
  }
}
