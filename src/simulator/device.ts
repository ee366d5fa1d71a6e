// Simulated core devices: each is one MQTT connection (mutual TLS, the thing's certificate) running the agent's
// DeploymentJobsClient, answering the deployments it is offered as its `Respond` says, and publishing fleet-status
// messages the way the nucleus does (its own sequence numbers; after connecting and after each deployment). Many of
// them share one process: `meadow simulate`, the benchmarks and the end-to-end tests all run fleets of these.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectDevice, type DeviceIdentity } from '../agent/protocol/connect.js';
import { DeploymentJobsClient, type DeploymentJob, type UpdateReply } from '../agent/protocol/jobs-client.js';
import { fleetStatusMessages } from '../agent/reporting/messages.js';
import { toJobStatusDetails, type DeploymentOutcome } from '../core/device-document/index.js';
import type { ComponentState, FleetStatusTrigger } from '../core/fleet-status/index.js';
import type { JobExecutionStatus } from '../core/jobs/index.js';

export interface ProvisionedDevice extends DeviceIdentity {
  certificateId: string;
}

/** The final statuses a device reports for a deployment. */
export type FinalStatus = 'SUCCEEDED' | 'FAILED' | 'REJECTED';

/**
 * What the nucleus reports for each outcome (semantics Appendix B): a success, a failure that rolled back after a
 * component broke, and the rejection of a deployment the device will not take.
 */
export function simulatedOutcome(status: FinalStatus): DeploymentOutcome {
  switch (status) {
    case 'SUCCEEDED':
      return { detailedStatus: 'SUCCESSFUL' };
    case 'FAILED':
      return {
        detailedStatus: 'FAILED_ROLLBACK_COMPLETE',
        failureCause: 'simulated failure: a component broke during startup; the deployment was rolled back',
        errorStack: ['COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'],
        errorTypes: ['USER_COMPONENT_ERROR'],
      };
    case 'REJECTED':
      return {
        detailedStatus: 'REJECTED',
        failureCause: 'simulated rejection: the device refused the deployment',
        errorStack: ['REJECTED_STALE_DEPLOYMENT'],
        errorTypes: ['REQUEST_ERROR'],
      };
  }
}

/** The statusDetails the nucleus sends with each status (IN_PROGRESS carries none). */
export function nucleusDetails(status: JobExecutionStatus): Record<string, string> {
  return status === 'SUCCEEDED' || status === 'FAILED' || status === 'REJECTED' ? toJobStatusDetails(simulatedOutcome(status)) : {};
}

/** The Configuration document fields a simulated device reads (semantics §8.2). */
interface DeploymentDocument {
  deploymentId?: string;
  configurationArn?: string;
  components?: Record<string, { version?: string }>;
}

/** How a simulated device answers a deployment it receives. */
export type Respond = (device: SimulatedDevice, job: DeploymentJob) => Promise<unknown>;

/** Counters a fleet keeps across its devices (for a progress line); devices add to them as things happen. */
export interface FleetCounters {
  connected: number;
  received: number;
  inProgress: number;
  succeeded: number;
  failed: number;
  rejected: number;
  /** Updates the server refused (accepted: false). */
  refused: number;
  fleetStatusSent: number;
  reconnects: number;
  errors: number;
}

export const emptyCounters = (): FleetCounters => ({
  connected: 0,
  received: 0,
  inProgress: 0,
  succeeded: 0,
  failed: 0,
  rejected: 0,
  refused: 0,
  fleetStatusSent: 0,
  reconnects: 0,
  errors: 0,
});

export class SimulatedDevice {
  /** Every job offered, with the clock's time at arrival. */
  readonly received: { job: DeploymentJob; at: number }[] = [];
  /** Jobs that left the pending list before this device finished them. */
  readonly gone: string[] = [];
  /** Every update reply, in order, with the clock's time it arrived. */
  readonly replies: { jobId: string; status: JobExecutionStatus; reply: UpdateReply; at: number }[] = [];
  /** Failures of the respond function. */
  readonly errors: unknown[] = [];
  jobs!: DeploymentJobsClient;
  /** The components the device runs, as its fleet-status messages list them. */
  private readonly components = new Map<string, ComponentState>();
  /** The next fleet-status sequence number (one per message, as the nucleus counts). */
  private sequenceNumber = 0;

  constructor(
    readonly identity: ProvisionedDevice,
    readonly client: MqttClient,
    private readonly counters: FleetCounters,
    private readonly now: () => number,
  ) {}

  get thingName() {
    return this.identity.thingName;
  }

  /** Reports a status with the details the nucleus sends for it. */
  async report(jobId: string, status: JobExecutionStatus): Promise<UpdateReply> {
    const reply = await this.jobs.update(jobId, status, nucleusDetails(status));
    this.replies.push({ jobId, status, reply, at: this.now() });
    if (!reply.accepted) this.counters.refused++;
    else if (status === 'IN_PROGRESS') this.counters.inProgress++;
    else if (status === 'SUCCEEDED') this.counters.succeeded++;
    else if (status === 'FAILED') this.counters.failed++;
    else if (status === 'REJECTED') this.counters.rejected++;
    return reply;
  }

  /**
   * A fleet-status message (as many publishes as it has chunks): every component for a launch, reconnect or
   * cadence message, and after a deployment the deployment's outcome. A successful deployment's components
   * become the device's.
   */
  async publishFleetStatus(trigger: FleetStatusTrigger, deployment?: { job: DeploymentJob; status: FinalStatus }): Promise<void> {
    let deploymentInformation;
    if (deployment) {
      const doc = deployment.job.jobDocument as DeploymentDocument;
      const configurationArn = doc.configurationArn ?? '';
      if (deployment.status === 'SUCCEEDED') {
        for (const [componentName, c] of Object.entries(doc.components ?? {})) {
          this.components.set(componentName, { componentName, version: c.version ?? '', status: 'RUNNING', isRoot: true, fleetConfigArns: [configurationArn] });
        }
      }
      deploymentInformation = {
        status: deployment.status,
        deploymentId: doc.deploymentId ?? deployment.job.jobId,
        fleetConfigurationArnForStatus: configurationArn,
        outcome: simulatedOutcome(deployment.status),
        unchangedRootComponents: [],
      };
    }
    const messages = fleetStatusMessages({
      thing: this.thingName,
      ggcVersion: '2.12.0',
      platform: 'linux',
      architecture: 'amd64',
      sequenceNumber: this.sequenceNumber++,
      timestamp: Date.now(),
      trigger,
      components: [...this.components.values()],
      deploymentInformation,
    });
    for (const m of messages) await this.client.publishAsync(m.topic, m.payload, { qos: 1 });
    this.counters.fleetStatusSent++;
  }

  /**
   * Asks for `$next` and waits for the answer: afterwards every job the server offers this device now has been
   * offered (what a test checks before saying that nothing more arrived).
   */
  async sync(): Promise<void> {
    this.jobs.requestNext();
    const asked = this.jobs.nextRequests;
    await eventually(`${this.thingName} got its $next replies`, () => this.jobs.nextReplies >= asked);
  }

  receivedJobIds(): string[] {
    return this.received.map((r) => r.job.jobId);
  }

  /**
   * Drops the connection as a network failure would (the socket goes, no DISCONNECT) and comes back after
   * `offlineMs`: the MQTT client reconnects, subscribes again and the jobs client asks for `$next` afresh.
   */
  dropFor(offlineMs: number): void {
    const period = this.client.options.reconnectPeriod;
    this.client.options.reconnectPeriod = offlineMs;
    this.client.once('connect', () => (this.client.options.reconnectPeriod = period));
    this.client.stream.destroy();
  }
}

/** IN_PROGRESS, then (after `gate`, if given) the final status; REJECTED is reported straight from QUEUED. */
export const outcome =
  (final: FinalStatus, gate?: () => Promise<unknown>): Respond =>
  async (d, job) => {
    if (final !== 'REJECTED') await d.report(job.jobId, 'IN_PROGRESS');
    await gate?.();
    return d.report(job.jobId, final);
  };

/**
 * IN_PROGRESS, SUCCEEDED, then the fleet-status message the nucleus sends after a group deployment: what makes the
 * thing a core device with effective deployments.
 */
export const succeedAndReportStatus: Respond = async (d, job) => {
  const reply = await outcome('SUCCEEDED')(d, job);
  await d.publishFleetStatus('THING_GROUP_DEPLOYMENT', { job, status: 'SUCCEEDED' });
  return reply;
};

/** Takes the job (IN_PROGRESS) and keeps working on it until someone else reports for it. */
export const startOnly: Respond = (d, job) => d.report(job.jobId, 'IN_PROGRESS');
/** Records the job and does nothing: it stays QUEUED until someone else reports for it. */
export const ignore: Respond = async () => undefined;

export interface FleetOptions {
  /** The time stamped on arrivals and replies (a test passes the server's ManualClock); default Date.now. */
  clock?: { now(): number };
  /** By device: how it answers its jobs (default: IN_PROGRESS then SUCCEEDED). */
  respond?: (thingName: string, index: number) => Respond;
  mqtt?: IClientOptions;
  /** Connections being set up at once (TLS handshakes are the cost); default 50. */
  connectConcurrency?: number;
  /** Publish a fleet-status message on every connect (NUCLEUS_LAUNCH, then RECONNECT), as the nucleus does. */
  fleetStatusOnConnect?: boolean;
  /** Shared counters (a progress line reads them while the fleet connects). */
  counters?: FleetCounters;
}

export class Fleet {
  private readonly byThing: Map<string, SimulatedDevice>;

  constructor(
    readonly devices: SimulatedDevice[],
    readonly counters: FleetCounters,
  ) {
    this.byThing = new Map(devices.map((d) => [d.thingName, d]));
  }

  byName(thingName: string): SimulatedDevice {
    const d = this.byThing.get(thingName);
    if (!d) throw new Error(`no simulated device ${thingName}`);
    return d;
  }

  /** How many devices received this job. */
  receivedCount(jobId: string): number {
    return this.devices.filter((d) => d.receivedJobIds().includes(jobId)).length;
  }

  /** Every device has been offered everything the server offers it now. */
  async sync(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.sync()));
  }

  errors(): unknown[] {
    return this.devices.flatMap((d) => d.errors);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.devices.map(async (d) => {
        d.jobs.stop();
        await d.client.endAsync(true);
      }),
    );
  }
}

/**
 * Connects every device (at most `connectConcurrency` handshakes at once) and starts its jobs client; resolves when
 * all are connected and subscribed. Each client reconnects by itself after a drop.
 */
export async function runDevices(devices: ProvisionedDevice[], opts: FleetOptions = {}): Promise<Fleet> {
  const counters = opts.counters ?? emptyCounters();
  const now = () => (opts.clock ?? Date).now();
  const simulated: SimulatedDevice[] = new Array(devices.length);
  await forEachLimited(devices, opts.connectConcurrency ?? 50, async (identity, index) => {
    const respond = opts.respond?.(identity.thingName, index) ?? outcome('SUCCEEDED');
    const client = await connectDevice(identity, { reconnectPeriod: 100, ...({ secureContext: secureContextOf(identity) } as IClientOptions), ...opts.mqtt });
    const d = new SimulatedDevice(identity, client, counters, now);
    let online = true;
    counters.connected++;
    client.on('close', () => {
      if (online) counters.connected--;
      online = false;
    });
    client.on('connect', () => {
      if (online) return;
      online = true;
      counters.connected++;
      counters.reconnects++;
      if (opts.fleetStatusOnConnect) d.publishFleetStatus('RECONNECT').catch(() => undefined);
    });
    d.jobs = new DeploymentJobsClient(client, identity.thingName, {
      onJob: (job) => {
        d.received.push({ job, at: now() });
        counters.received++;
        respond(d, job).catch((e) => {
          counters.errors++;
          d.errors.push(e);
        });
      },
      onJobGone: (jobId) => d.gone.push(jobId),
    });
    await d.jobs.start();
    if (opts.fleetStatusOnConnect) await d.publishFleetStatus('NUCLEUS_LAUNCH');
    simulated[index] = d;
  });
  return new Fleet(simulated, counters);
}

/**
 * One TLS context per certificate: devices sharing a certificate share it, so a large fleet parses each key once
 * rather than at every connect (building a context costs milliseconds of CPU).
 */
const secureContexts = new Map<string, SecureContext>();
function secureContextOf(id: ProvisionedDevice): SecureContext {
  const key = `${id.certificateId}\n${id.caPem}`;
  let context = secureContexts.get(key);
  if (!context) {
    context = createSecureContext({ cert: id.certificatePem, key: id.privateKeyPem, ca: id.caPem });
    secureContexts.set(key, context);
  }
  return context;
}

/** Runs `work` for every item with at most `limit` running at once; rejects with the first failure. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Waits (briefly) until a condition holds: for MQTT messages in flight, not for time to pass. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
