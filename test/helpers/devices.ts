// Devices for end-to-end rollout tests: things with their own certificate from CreateKeysAndCertificate, played by
// `mqtt` clients running the agent's DeploymentJobsClient, each answering its deployments as it is told to.
import {
  AddThingToThingGroupCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  type IoTClient,
} from '@aws-sdk/client-iot';
import { createServer } from 'node:net';
import { iot, mqtt as crtMqtt } from 'aws-iot-device-sdk-v2';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectDevice, type DeviceIdentity } from '../../src/agent/protocol/connect.js';
import { DeploymentJobsClient, type DeploymentJob, type UpdateReply } from '../../src/agent/protocol/jobs-client.js';
import type { Clock } from '../../src/core/clock.js';
import { JOB_STATUS_DETAIL } from '../../src/core/device-document/defaults.js';
import { fleetStatusTopic } from '../../src/core/device-topics.js';
import { buildFleetStatusPayloads } from '../../src/core/fleet-status/build.js';
import type { JobExecutionStatus } from '../../src/core/jobs/index.js';
import { uniqueName } from './greengrass.js';
import type { TestServer } from './server.js';

/** Where devices register (the IoT API) and connect (the MQTT endpoint and the root it trusts). */
export interface DeviceEndpoint {
  iot: IoTClient;
  /** host:port of the MQTT broker. */
  mqtt: string;
  caPem: string;
}

export async function endpointOf(s: TestServer): Promise<DeviceEndpoint> {
  return { iot: s.iot, mqtt: `127.0.0.1:${s.mqttPort}`, caPem: (await s.store.getCertificateAuthority())!.certificatePem };
}

export interface ProvisionedDevice extends DeviceIdentity {
  certificateId: string;
}

/**
 * `count` things with ACTIVE certificates attached (and in `groupName` when given), created in parallel batches.
 * Each CreateKeysAndCertificate costs an RSA-2048 key generation on the server (~150 ms of CPU here), so a large
 * fleet may share certificates: `devicesPerCertificate` things get one certificate attached to them all, which AWS
 * IoT allows (a non-exclusive thing principal) and meadow's broker admits for each of those things' names.
 */
export async function provisionDevices(
  e: DeviceEndpoint,
  count: number,
  opts: { groupName?: string; prefix?: string; devicesPerCertificate?: number } = {},
): Promise<ProvisionedDevice[]> {
  const prefix = opts.prefix ?? uniqueName('dev');
  const perCertificate = opts.devicesPerCertificate ?? 1;
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  const shares: string[][] = [];
  for (let i = 0; i < names.length; i += perCertificate) shares.push(names.slice(i, i + perCertificate));
  const devices: ProvisionedDevice[] = [];
  for (let i = 0; i < shares.length; i += 50) {
    const batch = await Promise.all(
      shares.slice(i, i + 50).map(async (things) => {
        const cert = await e.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
        return Promise.all(
          things.map(async (thingName) => {
            await e.iot.send(new CreateThingCommand({ thingName }));
            await e.iot.send(new AttachThingPrincipalCommand({ thingName, principal: cert.certificateArn! }));
            if (opts.groupName) await e.iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: opts.groupName }));
            return {
              thingName,
              certificateId: cert.certificateId!,
              certificatePem: cert.certificatePem!,
              privateKeyPem: cert.keyPair!.PrivateKey!,
              caPem: e.caPem,
              endpoint: e.mqtt,
            };
          }),
        );
      }),
    );
    devices.push(...batch.flat());
  }
  return devices;
}

/** What the nucleus puts in statusDetails for each outcome (semantics Appendix B). */
export function nucleusDetails(status: JobExecutionStatus): Record<string, string> {
  switch (status) {
    case 'SUCCEEDED':
      return { [JOB_STATUS_DETAIL.detailedStatus]: 'SUCCESSFUL' };
    case 'FAILED':
      return { [JOB_STATUS_DETAIL.detailedStatus]: 'FAILED_NO_STATE_CHANGE', [JOB_STATUS_DETAIL.failureCause]: 'simulated failure' };
    case 'REJECTED':
      return { [JOB_STATUS_DETAIL.detailedStatus]: 'REJECTED', [JOB_STATUS_DETAIL.failureCause]: 'simulated rejection' };
    default:
      return {};
  }
}

/** How a simulated device answers a deployment it receives. */
export type Respond = (device: SimulatedDevice, job: DeploymentJob) => Promise<unknown>;

/** IN_PROGRESS, then (after `gate`, if given) the final status; REJECTED is reported straight from QUEUED. */
export const outcome =
  (final: 'SUCCEEDED' | 'FAILED' | 'REJECTED', gate?: () => Promise<unknown>): Respond =>
  async (d, job) => {
    if (final !== 'REJECTED') await d.report(job.jobId, 'IN_PROGRESS');
    await gate?.();
    return d.report(job.jobId, final);
  };
/**
 * IN_PROGRESS, SUCCEEDED, then the fleet-status message the nucleus sends after a group deployment (its first, so
 * sequence number 0): what makes the thing a core device with effective deployments.
 */
export const succeedAndReportStatus: Respond = async (d, job) => {
  const reply = await outcome('SUCCEEDED')(d, job);
  const doc = job.jobDocument as { deploymentId: string; configurationArn: string; components: Record<string, { version: string }> };
  const payloads = buildFleetStatusPayloads({
    thing: d.thingName,
    ggcVersion: '2.12.0',
    platform: 'linux',
    architecture: 'amd64',
    sequenceNumber: 0,
    timestamp: Date.now(),
    trigger: 'THING_GROUP_DEPLOYMENT',
    components: Object.entries(doc.components).map(([componentName, c]) => ({
      componentName,
      version: c.version,
      status: 'RUNNING',
      isRoot: true,
      fleetConfigArns: [doc.configurationArn],
    })),
    deploymentInformation: {
      status: 'SUCCEEDED',
      deploymentId: doc.deploymentId,
      fleetConfigurationArnForStatus: doc.configurationArn,
      outcome: { detailedStatus: 'SUCCESSFUL' },
      unchangedRootComponents: [],
    },
  });
  for (const payload of payloads) await d.client.publishAsync(fleetStatusTopic(d.thingName), payload, { qos: 1 });
  return reply;
};
/** Takes the job (IN_PROGRESS) and keeps working on it until the test reports for it. */
export const startOnly: Respond = (d, job) => d.report(job.jobId, 'IN_PROGRESS');
/** Records the job and does nothing: it stays QUEUED until the test reports for it. */
export const ignore: Respond = async () => undefined;

export class SimulatedDevice {
  /** Every job offered, with the server clock's time at arrival. */
  readonly received: { job: DeploymentJob; at: number }[] = [];
  /** Jobs that left the pending list before this device finished them. */
  readonly gone: string[] = [];
  /** Every update reply, in order. */
  readonly replies: { jobId: string; status: JobExecutionStatus; reply: UpdateReply }[] = [];
  /** Failures of the respond function (a test asserts there are none). */
  readonly errors: unknown[] = [];
  jobs!: DeploymentJobsClient;

  constructor(
    readonly identity: ProvisionedDevice,
    readonly client: MqttClient,
  ) {}

  get thingName() {
    return this.identity.thingName;
  }

  /** Reports a status with the details the nucleus sends for it. */
  async report(jobId: string, status: JobExecutionStatus): Promise<UpdateReply> {
    const reply = await this.jobs.update(jobId, status, nucleusDetails(status));
    this.replies.push({ jobId, status, reply });
    return reply;
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
}

export interface FleetOptions {
  clock: Clock;
  /** By device: how it answers its jobs (default: IN_PROGRESS then SUCCEEDED). */
  respond?: (thingName: string, index: number) => Respond;
  mqtt?: IClientOptions;
}

export class Fleet {
  constructor(readonly devices: SimulatedDevice[]) {}

  byName(thingName: string): SimulatedDevice {
    const d = this.devices.find((x) => x.thingName === thingName);
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

/** Connects every device and starts its jobs client; resolves when all are connected and subscribed. */
export async function runDevices(devices: ProvisionedDevice[], opts: FleetOptions): Promise<Fleet> {
  const simulated: SimulatedDevice[] = [];
  for (let i = 0; i < devices.length; i += 50) {
    simulated.push(
      ...(await Promise.all(
        devices.slice(i, i + 50).map(async (identity, j) => {
          const respond = opts.respond?.(identity.thingName, i + j) ?? outcome('SUCCEEDED');
          const d = new SimulatedDevice(identity, await connectDevice(identity, { reconnectPeriod: 100, ...opts.mqtt }));
          d.jobs = new DeploymentJobsClient(d.client, identity.thingName, {
            onJob: (job) => {
              d.received.push({ job, at: opts.clock.now() });
              respond(d, job).catch((e) => d.errors.push(e));
            },
            onJobGone: (jobId) => d.gone.push(jobId),
          });
          await d.jobs.start();
          return d;
        }),
      )),
    );
  }
  return new Fleet(simulated);
}

/** Waits (briefly) until a condition holds: for MQTT messages in flight, not for time to pass. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A port nothing listens on now, for a server that must come back on the same port after a restart. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A connection of the AWS IoT Device SDK v2 (aws-crt) with the device's certificate, trusting meadow's CA. */
export async function sdkV2Connection(d: DeviceIdentity, port: number): Promise<crtMqtt.MqttClientConnection> {
  const config = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder(d.certificatePem, d.privateKeyPem)
    .with_certificate_authority(d.caPem)
    .with_endpoint('127.0.0.1')
    .with_port(port)
    .with_client_id(d.thingName)
    .with_clean_session(true)
    .build();
  const connection = new crtMqtt.MqttClient().new_connection(config);
  await connection.connect();
  return connection;
}
