// The meadow agent: the device runtime that applies Greengrass deployments as the nucleus does. This file assembles
// the pieces (see docs/architecture.md, "Agent:" sections) and owns the deployment queue:
//   intake     jobs (DeploymentJobsClient) and the deployment shadow (DeploymentShadowClient) -> one queue, one
//              deployment at a time, in order; duplicates dropped; a job leaving the pending list or a shadow
//              `desiredStatus: CANCELED` cancels the deployment before it changes the device
//   deployment deployment/deployer.ts (plan with src/core, apply with components.ts)
//   reporting  every status message through the durable outbox, sent in order whenever connected
//   components ComponentManager (lifecycle runners) + the IPC server components talk to
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { componentPaths, configValue } from '../core/configuration/index.js';
import { jobStatusOfOutcome, readDeviceConfiguration } from '../core/device-document/index.js';
import type { ComponentState, FleetStatusInput, FleetStatusTrigger } from '../core/fleet-status/index.js';
import { readDeviceBundle } from './bundle.js';
import { ComponentManager } from './components.js';
import { ComponentStore, type ComponentStoreOptions } from './component-store/index.js';
import { DataPlaneClient, dataPlaneIdentityFromBundle, type DataPlaneClientOptions } from './dataplane/client.js';
import { Deployer, type DeploymentEnd, type IncomingDeployment } from './deployment/deployer.js';
import { devicePlatform, renderComponents, type ComponentInput } from './deployment/render.js';
import { ComponentTokens, ipcEnvironment, IpcServer } from './ipc/server.js';
import { AgentIpcHost } from './ipc-host.js';
import { DEFAULT_KILL_GRACE_MS, ProcessGroupRegistry, type ComponentRunnerOptions, type StateChange } from './lifecycle/index.js';
import { identityFromBundle, startDeviceClient } from './protocol/connect.js';
import { DeploymentJobsClient, type DeploymentJob } from './protocol/jobs-client.js';
import { DeploymentShadowClient, type ShadowDeploymentOffer } from './protocol/shadow-client.js';
import { MqttStatusTransport } from './protocol/status-transport.js';
import { deploymentShadowReport, fleetStatusMessages, jobExecutionUpdate, Outbox, type StatusMessage } from './reporting/index.js';
import { StateStore, type AgentState, type DeploymentInProgress, type DeploymentSource, type PinnedTargets } from './state/index.js';
import type { MqttClient } from 'mqtt';

/** The nucleus version the agent reports (ggcVersion): the release whose behaviour it follows. */
export const AGENT_GGC_VERSION = '2.14.0';

export interface AgentOptions {
  bundleDir: string;
  /** Where the agent keeps everything: state, component store, work folders, logs, the IPC socket. */
  root: string;
  logger: Logger;
  /** Lifecycle tuning (tests shorten timeouts). */
  runner?: Pick<ComponentRunnerOptions, 'defaultTimeoutsMs' | 'killGraceMs' | 'defaultPosixUser'>;
  dataPlane?: DataPlaneClientOptions;
  /** Artifact download tuning (tests shorten the retries of a digest mismatch). */
  componentStore?: Pick<ComponentStoreOptions, 'checksumAttempts' | 'sleep'>;
}

type QueueItem =
  | { kind: 'new'; incoming: IncomingDeployment }
  /** `stillPending`: for a job deployment resumed before activation, whether the job is still the device's. */
  | { kind: 'resume'; deployment: DeploymentInProgress; stillPending?: Promise<boolean> };

const idOf = (s: DeploymentSource) => (s.kind === 'job' ? s.jobId : s.configurationArn);

export class Agent {
  private readonly queue: QueueItem[] = [];
  private current: { id: string; source: DeploymentSource; abort: AbortController } | undefined;
  private pumping: Promise<void> | undefined;
  private readonly handledShadowConfigurations = new Set<string>();
  private closed = false;
  private flushTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly opts: AgentOptions,
    readonly thingName: string,
    private readonly region: string,
    readonly root: string,
    private readonly platform: Record<string, string>,
    private readonly state: StateStore,
    private readonly mqtt: MqttClient,
    private readonly outbox: Outbox,
    private readonly dataPlane: DataPlaneClient,
    private readonly components: ComponentManager,
    private readonly ipcHost: AgentIpcHost,
    private readonly ipcServer: IpcServer,
    private readonly deployer: Deployer,
    private readonly jobs: DeploymentJobsClient,
    private readonly shadow: DeploymentShadowClient,
  ) {}

  static async start(opts: AgentOptions): Promise<Agent> {
    const log = opts.logger;
    const root = path.resolve(opts.root);
    const bundle = readDeviceBundle(opts.bundleDir);
    const { thingName, region } = bundle.config;
    for (const dir of ['logs', 'work']) mkdirSync(path.join(root, dir), { recursive: true });
    const rootCaPath = path.join(root, 'rootCA.pem');
    writeFileSync(rootCaPath, bundle.caPem);
    const platform = devicePlatform();

    const state = await StateStore.open(path.join(root, 'state'));
    // What a crashed earlier run left running goes first, so no component runs twice (see lifecycle/process-groups.ts).
    const processGroups = new ProcessGroupRegistry(path.join(root, 'run', 'process-groups'));
    const leftovers = await processGroups.killLeftovers(opts.runner?.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    if (leftovers.length > 0) log.warn({ leftovers }, 'stopped the process groups an earlier run of the agent left running');
    const mqtt = startDeviceClient(identityFromBundle(opts.bundleDir));
    const outbox = new Outbox(state, new MqttStatusTransport(mqtt), {
      onRejected: (e) => log.warn({ topic: e.topic }, 'the cloud rejected a status message; dropped'),
      onError: (e, err) => log.warn({ topic: e.topic, err }, 'sending a status message failed'),
    });
    const dataPlane = new DataPlaneClient(dataPlaneIdentityFromBundle(opts.bundleDir), opts.dataPlane);
    const store = new ComponentStore({ root, source: dataPlane, ...opts.componentStore });
    const tokens = new ComponentTokens();
    const socketPath = path.join(root, 'ipc.socket');

    // The agent is wired before it exists: the closures below call it once start() has returned it.
    let agent: Agent | undefined;
    let ipcHost: AgentIpcHost | undefined;
    const components = new ComponentManager({
      runner: { logDir: path.join(root, 'logs'), ...opts.runner, processGroups },
      workDir: (name) => componentPaths(root, name, '').work,
      environment: (name) => {
        const token = tokens.tokenFor(name);
        return {
          AWS_IOT_THING_NAME: thingName,
          AWS_REGION: region,
          AWS_DEFAULT_REGION: region,
          GG_ROOT_CA_PATH: rootCaPath,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
          ...ipcEnvironment(socketPath, token),
        };
      },
      onStateChange: (change) => agent?.componentChanged(change),
      onRemoved: (name) => {
        ipcHost?.forget(name);
        tokens.revoke(name);
      },
    });
    ipcHost = new AgentIpcHost(state, components, (m) => log.info(m));
    const ipcServer = await IpcServer.start({
      socketPath,
      host: ipcHost,
      tokens,
      onError: (err, context) => log.warn({ err }, `IPC: ${context}`),
    });

    const deployer = new Deployer({
      thingName,
      root,
      platform,
      state,
      dataPlane,
      store,
      components,
      ipc: ipcHost,
      log: log.child({ part: 'deployment' }),
      begin: (d, commit) => agent!.begin(d, commit),
      finish: (d, end, commit) => agent!.finish(d, end, commit),
    });
    const jobs = new DeploymentJobsClient(mqtt, thingName, {
      onJob: (job) => agent?.onJob(job),
      onJobGone: (jobId) => agent?.onJobGone(jobId),
    });
    const shadow = new DeploymentShadowClient(mqtt, thingName, (offer) => agent?.onShadowOffer(offer));
    agent = new Agent(opts, thingName, region, root, platform, state, mqtt, outbox, dataPlane, components, ipcHost, ipcServer, deployer, jobs, shadow);
    await agent.launch(store);
    return agent;
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  /** Starts what the device had installed, resumes an unfinished deployment, and starts listening. */
  private async launch(store: ComponentStore): Promise<void> {
    const installed = this.state.get('components');
    const inputs = new Map<string, ComponentInput>();
    for (const [name, c] of Object.entries(installed)) {
      const recipe = await store.readRecipe(name, c.version).catch(() => undefined);
      if (!recipe) {
        this.log.error({ component: name, version: c.version }, 'no readable recipe for an installed component; not started');
        continue;
      }
      inputs.set(name, { version: c.version, recipe, configuration: configValue(c.configuration), runWith: c.runWith });
    }
    try {
      this.components.launch(renderComponents({ root: this.root, thingName: this.thingName, platform: this.platform }, inputs));
    } catch (e) {
      this.log.error({ err: e }, 'the installed components could not be started');
    }
    this.log.info({ thing: this.thingName, components: [...inputs.keys()] }, 'meadow agent started');

    // NUCLEUS_LAUNCH: every component, once the launched ones have settled (or after a while).
    const settled = Promise.race([this.components.settled(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    void settled.then(() => {
      if (!this.closed) void this.enqueueFleetStatus('NUCLEUS_LAUNCH');
    });

    const inProgress = this.state.get('deployment');
    if (inProgress) {
      if (inProgress.source.kind === 'shadow') this.handledShadowConfigurations.add(inProgress.source.configurationArn);
      // Canceled while the agent was down? The jobs client tells once it has asked for the next job; until then a
      // deployment that has not changed the device waits (it could otherwise be applied before the answer comes).
      const stillPending = inProgress.source.kind === 'job' && inProgress.stage === 'PREPARING' ? this.jobs.resumed(inProgress.source.jobId) : undefined;
      this.enqueue({ kind: 'resume', deployment: inProgress, stillPending });
    }
    this.mqtt.on('connect', () => {
      this.log.info('connected');
      this.flushSoon(0);
    });
    this.mqtt.on('offline', () => this.log.warn('offline'));
    this.mqtt.on('error', (err) => this.log.warn({ err: err.message }, 'MQTT error'));
    const listen = () => {
      void Promise.all([this.jobs.start(), this.shadow.start()]).catch((err) => this.log.error({ err }, 'subscribing failed'));
    };
    if (this.mqtt.connected) listen();
    else this.mqtt.once('connect', listen);
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.flushTimer);
    this.current?.abort.abort(new Error('the agent is stopping'));
    this.jobs.stop();
    this.shadow.stop();
    await this.components.stopAll();
    await this.ipcServer.close();
    await this.mqtt.endAsync();
    // A pass waiting for a reply ends with the connection; its commit must land before stop() returns.
    await this.outbox.idle();
    this.dataPlane.close();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Intake.

  private onJob(job: DeploymentJob): void {
    const last = this.state.get('lastProcessedJob');
    if (last && last.jobId === job.jobId && last.queuedAt === job.queuedAt) return; // taken before (or before a restart)
    if (this.current?.id === job.jobId || this.queue.some((q) => q.kind === 'new' && idOf(q.incoming.source) === job.jobId)) return;
    this.log.info({ job: job.jobId }, 'deployment job received');
    this.enqueue({ kind: 'new', incoming: { source: { kind: 'job', jobId: job.jobId, queuedAt: job.queuedAt }, document: job.jobDocument } });
  }

  private onJobGone(jobId: string): void {
    this.dropQueued((s) => s.kind === 'job' && s.jobId === jobId);
    if (this.current?.id === jobId) {
      this.log.info({ job: jobId }, 'the job left the pending list: canceling the deployment');
      this.current.abort.abort(new Error(`job ${jobId} was canceled`));
    }
  }

  private onShadowOffer(offer: ShadowDeploymentOffer): void {
    if (offer.desiredStatus === 'CANCELED') {
      this.dropQueued((s) => s.kind === 'shadow');
      if (this.current?.source.kind === 'shadow') this.current.abort.abort(new Error('the thing deployment was canceled'));
      return;
    }
    let arn: string;
    try {
      arn = readDeviceConfiguration(offer.fleetConfig).configurationArn;
    } catch (e) {
      this.log.warn({ err: e }, 'the deployment shadow holds a document that cannot be read; ignored');
      return;
    }
    const reported = offer.reported;
    if (reported && reported.fleetConfigurationArnForStatus === arn && reported.status !== 'IN_PROGRESS') this.handledShadowConfigurations.add(arn);
    if (this.handledShadowConfigurations.has(arn) || this.current?.id === arn) return;
    this.handledShadowConfigurations.add(arn);
    // A thing deployment supersedes the queued or running one (semantics §1.3).
    this.dropQueued((s) => s.kind === 'shadow');
    if (this.current?.source.kind === 'shadow') this.current.abort.abort(new Error('superseded by a newer thing deployment'));
    this.log.info({ configurationArn: arn }, 'thing deployment received');
    this.enqueue({ kind: 'new', incoming: { source: { kind: 'shadow', configurationArn: arn, shadowVersion: offer.version }, document: offer.fleetConfig } });
  }

  private dropQueued(match: (s: DeploymentSource) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i];
      if (q.kind === 'new' && match(q.incoming.source)) this.queue.splice(i, 1);
    }
  }

  private enqueue(item: QueueItem): void {
    this.queue.push(item);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** One deployment at a time, in the order they came. */
  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const item = this.queue.shift()!;
      const source = item.kind === 'new' ? item.incoming.source : item.deployment.source;
      const abort = new AbortController();
      this.current = { id: idOf(source), source, abort };
      try {
        if (item.kind === 'new') await this.deployer.start(item.incoming, abort.signal);
        else {
          if (item.stillPending && !(await item.stillPending)) abort.abort(new Error(`job ${this.current.id} left while the agent was down`));
          await this.deployer.resume(item.deployment, abort.signal);
        }
      } catch (e) {
        // A fault of the agent itself (disk, a bug): the deployment stays in the state and is resumed at the next start.
        this.log.error({ err: e, deployment: this.current.id }, 'the deployment stopped on an agent error');
      } finally {
        if (source.kind === 'job') this.jobs.finished(source.jobId);
        this.current = undefined;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Reporting: every message through the outbox, in the commit of the state change it reports.

  private begin(d: DeploymentInProgress, commit: Partial<AgentState>): Promise<void> {
    return this.outbox.enqueue([this.statusMessage(d.source, 'IN_PROGRESS')], commit);
  }

  private async finish(d: Pick<DeploymentInProgress, 'id' | 'source'>, end: DeploymentEnd, commit: Partial<AgentState>): Promise<void> {
    if (end.kind === 'canceled') {
      // A canceled job takes no more updates; a thing deployment reports CANCELED (semantics §2.2).
      const messages = d.source.kind === 'shadow' ? [this.statusMessage(d.source, 'CANCELED')] : [];
      return this.outbox.enqueue(messages, commit);
    }
    const { outcome, document } = end;
    this.log.info({ deployment: d.id, outcome }, 'deployment finished');
    const fleet: Omit<FleetStatusInput, 'sequenceNumber'>[] = [];
    const trigger: FleetStatusTrigger = d.source.kind === 'job' ? 'THING_GROUP_DEPLOYMENT' : 'THING_DEPLOYMENT';
    const components = this.fleetComponents(end.targets);
    if (document) {
      fleet.push({
        ...this.fleetHeader(trigger),
        components,
        deploymentInformation: {
          status: jobStatusOfOutcome(outcome.detailedStatus),
          deploymentId: document.deploymentId,
          fleetConfigurationArnForStatus: document.configurationArn,
          outcome,
          unchangedRootComponents: end.unchangedRoots,
        },
      });
    }
    // A PARTIAL message cannot say a component is gone; a full list (COMPLETE) right after can.
    if (end.removed.length > 0) fleet.push({ ...this.fleetHeader('CADENCE'), components });
    await this.outbox.enqueue((state) => {
      let sequence = state.fleetStatusSequence;
      const messages: StatusMessage[] = [this.statusMessage(d.source, outcome)];
      for (const input of fleet) messages.push(...fleetStatusMessages({ ...input, sequenceNumber: ++sequence }));
      return { messages, commit: { ...commit, fleetStatusSequence: sequence } };
    });
  }

  private statusMessage(source: DeploymentSource, result: Parameters<typeof deploymentShadowReport>[3]): StatusMessage {
    if (source.kind === 'shadow') return deploymentShadowReport(this.thingName, source.configurationArn, AGENT_GGC_VERSION, result);
    return jobExecutionUpdate(this.thingName, source.jobId, result === 'CANCELED' ? 'IN_PROGRESS' : result);
  }

  private componentChanged(change: StateChange): void {
    this.log.info({ component: change.component, from: change.from, to: change.to, code: change.statusCode, reason: change.reason || undefined }, 'component state');
    if (change.to !== 'ERRORED' && change.to !== 'BROKEN') return;
    const all = this.fleetComponents(this.state.get('targets'));
    const one = all.filter((c) => c.componentName === change.component);
    void this.outbox.enqueueFleetStatus({ ...this.fleetHeader('COMPONENT_STATUS_CHANGE'), components: one }, all).catch((err) => this.log.warn({ err }, 'fleet status not queued'));
  }

  private enqueueFleetStatus(trigger: FleetStatusTrigger): Promise<void> {
    return this.outbox.enqueueFleetStatus({ ...this.fleetHeader(trigger), components: this.fleetComponents(this.state.get('targets')) });
  }

  private fleetHeader(trigger: FleetStatusTrigger) {
    return { thing: this.thingName, ggcVersion: AGENT_GGC_VERSION, platform: this.platform.os, architecture: this.platform.architecture, timestamp: Date.now(), trigger };
  }

  /** Components as fleet status lists them: roots of a target, and the targets whose closure holds each one. */
  private fleetComponents(targets: PinnedTargets): ComponentState[] {
    const graph = this.components.graph();
    const closures = Object.values(targets).map((t) => {
      const seen = new Set<string>();
      const visit = (n: string) => {
        if (seen.has(n)) return;
        seen.add(n);
        Object.keys(graph[n] ?? {}).forEach(visit);
      };
      Object.keys(t.components).forEach(visit);
      return { arn: t.configurationArn, roots: new Set(Object.keys(t.components)), closure: seen };
    });
    return this.components.fleetComponents((name) => ({
      isRoot: closures.some((c) => c.roots.has(name)),
      fleetConfigArns: closures.filter((c) => c.closure.has(name)).map((c) => c.arn),
    }));
  }

  /** Sends what the outbox holds; while connected but without answers, tries again every few seconds. */
  private flushSoon(delayMs: number): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      void this.outbox.flush().then((result) => {
        if (result === 'offline' && this.mqtt.connected && !this.closed) this.flushSoon(5000);
      });
    }, delayMs);
  }
}
