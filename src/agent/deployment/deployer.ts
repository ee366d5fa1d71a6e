// One deployment on the device, start to end, as the nucleus's DefaultDeploymentTask + DefaultActivator run it
// (semantics §1.3, §2.2-2.3, §3, §4, §7.1, Appendix B):
//   read the document -> stale? (REJECTED) -> IN_PROGRESS -> capabilities, LARGE_CONFIGURATION -> membership ->
//   union of every target's pinned roots -> resolve -> recipes + artifacts -> configuration + runWith -> plan
//   -> NOTIFY_COMPONENTS -> validation -> [cancellable up to here] -> snapshot + commit -> apply -> wait
//   -> success: remove obsolete, pin the target, clean the store | failure: ROLLBACK or DO_NOTHING
// Every state change is one atomic commit of the agent's state, with the status messages it causes in the outbox, so a
// kill at any point leaves the old or the new state and a deployment that can be resumed (`resume`).
import type { Logger } from 'pino';
import { changedPaths, configValue, ownEntryOf, ownUpdateOf, resolveConfiguration, resolveRunWith, type ConfigPath } from '../../core/configuration/index.js';
import { DeploymentError, errorTypesOf, type DeploymentErrorCode } from '../../core/deployment-errors.js';
import {
  deploymentGroupName,
  missingCapabilities,
  readDeviceConfiguration,
  type DeploymentOutcome,
  type DetailedDeploymentStatus,
  type DeviceConfiguration,
} from '../../core/device-document/index.js';
import { JsonPointerError } from '../../core/configuration/pointer.js';
import { planDeployment, type DeploymentPlan, type PlannedComponent } from '../../core/lifecycle/index.js';
import { selectManifest } from '../../core/recipe/index.js';
import type { RootsByGroup } from '../../core/resolution/index.js';
import type { ComponentManager } from '../components.js';
import type { ComponentStore } from '../component-store/index.js';
import { componentRef } from '../component-store/index.js';
import type { DataPlaneClient } from '../dataplane/client.js';
import type { AgentIpcHost } from '../ipc-host.js';
import type { ComponentsState, DeploymentInProgress, DeploymentSource, DeviceSnapshot, PinnedTargets, StateStore } from '../state/index.js';
import { renderComponents, type ComponentInput, type RenderedComponent } from './render.js';
import { resolveOnDevice } from './resolve.js';

/** A deployment as it arrives: from a job or from the deployment shadow, with its document as sent. */
export interface IncomingDeployment {
  source: DeploymentSource;
  document: unknown;
}

/** How a deployment ended, for the reports (src/agent/agent.ts turns it into messages). */
export type DeploymentEnd =
  | { kind: 'outcome'; outcome: DeploymentOutcome; document?: DeviceConfiguration; targets: PinnedTargets; unchangedRoots: string[]; removed: string[] }
  | { kind: 'canceled'; document: DeviceConfiguration };

export interface DeployerDeps {
  thingName: string;
  root: string;
  platform: Record<string, string>;
  state: StateStore;
  dataPlane: DataPlaneClient;
  store: ComponentStore;
  components: ComponentManager;
  ipc: AgentIpcHost;
  log: Logger;
  /** Commits the deployment's end with its status messages (one atomic commit). */
  finish(d: Pick<DeploymentInProgress, 'id' | 'source'>, end: DeploymentEnd, commit: Partial<import('../state/index.js').AgentState>): Promise<void>;
  /** Commits the deployment's start with its IN_PROGRESS report. */
  begin(d: DeploymentInProgress, commit: Partial<import('../state/index.js').AgentState>): Promise<void>;
}

interface Prepared {
  plan: DeploymentPlan;
  rendered: Map<string, RenderedComponent>;
  componentsState: ComponentsState;
  targets: PinnedTargets;
  /** Components whose configuration changes and whose version does not: what validation asks (§4.2 step 4). */
  validation: Map<string, Record<string, unknown>>;
  configChanges: Map<string, ConfigPath[]>;
  versions: string[];
}

export class Deployer {
  constructor(private readonly deps: DeployerDeps) {}

  /** A new deployment: read, check, report IN_PROGRESS, then run. */
  async start(incoming: IncomingDeployment, signal: AbortSignal): Promise<void> {
    const { source } = incoming;
    const lastProcessedJob = source.kind === 'job' ? { lastProcessedJob: { queuedAt: source.queuedAt, jobId: source.jobId } } : {};
    const id = source.kind === 'job' ? source.jobId : source.configurationArn;
    let doc: DeviceConfiguration;
    try {
      doc = readDeviceConfiguration(incoming.document);
    } catch (e) {
      // Checked before anything else, so no IN_PROGRESS goes out first (semantics §2.2).
      return this.deps.finish({ id, source }, this.failedNoStateChange(e, undefined), lastProcessedJob);
    }
    const group = deploymentGroupName(doc);
    const pinned = this.deps.state.get('targets')[group];
    if (source.kind === 'job' && pinned && doc.creationTimestamp < pinned.timestamp) {
      const outcome: DeploymentOutcome = {
        detailedStatus: 'REJECTED',
        failureCause: `The deployment is older (created ${doc.creationTimestamp}) than the one ${group} last deployed (created ${pinned.timestamp}).`,
        errorStack: ['REJECTED_STALE_DEPLOYMENT'],
        errorTypes: [],
      };
      return this.deps.finish({ id, source }, { kind: 'outcome', outcome, document: doc, targets: this.deps.state.get('targets'), unchangedRoots: [], removed: [] }, lastProcessedJob);
    }
    const d: DeploymentInProgress = { id, source, document: incoming.document as Record<string, unknown>, stage: 'PREPARING' };
    await this.deps.begin(d, { deployment: d, ...lastProcessedJob });
    await this.run(d, doc, signal);
  }

  /** A deployment the agent was working on when it stopped (found in its state at start). */
  async resume(d: DeploymentInProgress, signal: AbortSignal): Promise<void> {
    const doc = readDeviceConfiguration(d.document);
    this.deps.log.info({ deployment: d.id, stage: d.stage }, 'resuming the deployment in progress');
    if (d.stage === 'ROLLING_BACK') return this.rollback(d, doc, d.failure!);
    // Once activation started the device has changed: a cancellation is no longer honoured (semantics §4.4).
    await this.run(d, doc, d.stage === 'ACTIVATING' ? new AbortController().signal : signal);
  }

  private async run(d: DeploymentInProgress, doc: DeviceConfiguration, signal: AbortSignal): Promise<void> {
    const { log, ipc } = this.deps;
    const notify = doc.componentUpdatePolicy.action === 'NOTIFY_COMPONENTS';
    let prepared: Prepared;
    let notified = false;
    try {
      prepared = await this.prepare(doc, signal);
      notified = notify;
      if (notify) await ipc.notifyAndWait(doc.deploymentId, doc.componentUpdatePolicy.timeout * 1000, signal);
      await ipc.validate(d.id, prepared.validation, doc.configurationValidationPolicy.timeout * 1000, signal);
      signal.throwIfAborted();
    } catch (e) {
      // Components told of the update hear that it is over (a pending notification discarded, semantics §4.4).
      if (notified) ipc.postUpdate(doc.deploymentId);
      if (signal.aborted) {
        log.info({ deployment: d.id }, 'deployment canceled before it changed the device');
        return this.deps.finish(d, { kind: 'canceled', document: doc }, { deployment: null });
      }
      log.warn({ deployment: d.id, err: e }, 'deployment failed before it changed the device');
      return this.deps.finish(d, this.failedNoStateChange(e, doc), { deployment: null });
    }

    // Activation: from here on the deployment runs to its end, cancelled or not (semantics §4.4).
    const snapshot = d.snapshot ?? this.snapshot();
    const activating: DeploymentInProgress = { ...d, stage: 'ACTIVATING', snapshot };
    await this.deps.state.commit({ deployment: activating, components: prepared.componentsState });
    for (const [name, changes] of prepared.configChanges) if (changes.length > 0) ipc.announceChanges(name, changes);
    log.info({ deployment: d.id, plan: prepared.plan }, 'applying the deployment');
    let { broken } = await this.deps.components.apply(prepared.plan, prepared.rendered);
    if (broken === undefined && d.stage === 'ACTIVATING') {
      // Resumed after a restart: the launch already started the new components, so the plan tracks nothing; wait
      // for what the launch started instead.
      const states = await this.deps.components.settled();
      broken = [...states].find(([, state]) => state === 'BROKEN')?.[0];
    }
    if (notify) ipc.postUpdate(doc.deploymentId);
    const unchangedRoots = Object.keys(doc.components).filter((n) => prepared.plan.unchanged.includes(n) || prepared.plan.reconfigure.includes(n));

    if (broken === undefined) {
      await this.deps.components.remove(prepared.plan.remove);
      await this.deps.finish(
        d,
        { kind: 'outcome', outcome: { detailedStatus: 'SUCCESSFUL' }, document: doc, targets: prepared.targets, unchangedRoots, removed: prepared.plan.remove },
        { deployment: null, targets: prepared.targets },
      );
      // Each remaining component's previous version stays (a later rollback may need it); removed ones go whole.
      const previous = Object.entries(snapshot.components).filter(([n]) => prepared.rendered.has(n));
      await this.cleanup([...prepared.versions, ...previous.map(([n, c]) => componentRef(n, c.version))]);
      return;
    }

    const error = new DeploymentError(`Service ${broken} in broken state after deployment`, ['COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN']);
    const failure = {
      failureCause: error.message,
      errorStack: [...error.codes],
      errorTypes: [...errorTypesOf(error.codes), broken.startsWith('aws.greengrass.') ? 'AWS_COMPONENT_ERROR' : 'USER_COMPONENT_ERROR'],
    };
    log.warn({ deployment: d.id, component: broken, policy: doc.failureHandlingPolicy }, 'a component broke during the deployment');
    if (doc.failureHandlingPolicy === 'DO_NOTHING') {
      // The new state stays, and so the target's roots are pinned as deployed (Appendix B).
      const outcome: DeploymentOutcome = { detailedStatus: 'FAILED_ROLLBACK_NOT_REQUESTED', ...failure };
      return this.deps.finish(d, { kind: 'outcome', outcome, document: doc, targets: prepared.targets, unchangedRoots, removed: [] }, { deployment: null, targets: prepared.targets });
    }
    const rollingBack: DeploymentInProgress = { ...activating, stage: 'ROLLING_BACK', failure };
    await this.deps.state.commit({ deployment: rollingBack, components: snapshot.components });
    await this.rollback(rollingBack, doc, failure, prepared.versions);
  }

  /** Puts back the components, versions and configuration of the snapshot and starts what ran (semantics §4.3). */
  private async rollback(d: DeploymentInProgress, doc: DeviceConfiguration, failure: NonNullable<DeploymentInProgress['failure']>, tried: string[] = []): Promise<void> {
    const snapshot = d.snapshot!;
    let status: DetailedDeploymentStatus = 'FAILED_ROLLBACK_COMPLETE';
    const stack = [...failure.errorStack];
    let cause = failure.failureCause;
    let removed: string[] = [];
    try {
      if (this.deps.state.get('deployment')?.stage !== 'ROLLING_BACK') {
        await this.deps.state.commit({ deployment: d, components: snapshot.components });
      }
      const inputs = new Map<string, ComponentInput>();
      for (const [name, c] of Object.entries(snapshot.components)) {
        const recipe = await this.deps.store.readRecipe(name, c.version);
        if (!recipe) throw new DeploymentError(`The recipe of ${name} version ${c.version} is no longer on the device.`, ['LOCAL_RECIPE_NOT_FOUND']);
        inputs.set(name, { version: c.version, recipe, configuration: configValue(c.configuration), runWith: c.runWith });
      }
      const rendered = renderComponents(this.context(), inputs);
      const current = this.deps.state.get('components');
      const target: Record<string, PlannedComponent> = Object.fromEntries(
        [...rendered].map(([name, r]) => [name, { service: r.service, configurationChanged: changedPaths(current[name]?.configuration ?? snapshot.components[name].configuration, snapshot.components[name].configuration).length > 0 }]),
      );
      const plan = planDeployment(this.deps.components.current(), target);
      this.deps.log.info({ deployment: d.id, plan }, 'rolling back');
      const { broken } = await this.deps.components.apply(plan, rendered);
      await this.deps.components.remove(plan.remove);
      removed = plan.remove;
      if (broken !== undefined) {
        status = 'FAILED_UNABLE_TO_ROLLBACK';
        cause = `${cause}; rollback failed: service ${broken} in broken state after rollback`;
      }
    } catch (e) {
      this.deps.log.error({ deployment: d.id, err: e }, 'rollback failed');
      status = 'FAILED_UNABLE_TO_ROLLBACK';
      cause = `${cause}; rollback failed: ${(e as Error).message}`;
    }
    const outcome: DeploymentOutcome = { detailedStatus: status, failureCause: cause, errorStack: stack, errorTypes: failure.errorTypes };
    await this.deps.finish(d, { kind: 'outcome', outcome, document: doc, targets: snapshot.targets, unchangedRoots: [], removed }, { deployment: null, targets: snapshot.targets });
    await this.cleanup([...tried, ...Object.entries(snapshot.components).map(([n, c]) => componentRef(n, c.version))]);
  }

  /** Everything before the device changes (semantics §4.2 step 1): a failure here is FAILED_NO_STATE_CHANGE. */
  private async prepare(doc: DeviceConfiguration, signal: AbortSignal): Promise<Prepared> {
    const { dataPlane, store, state, log } = this.deps;
    signal.throwIfAborted();
    const missing = missingCapabilities(doc);
    if (missing.length > 0) {
      throw new DeploymentError(`The deployment requires capabilities this device does not have: ${missing.join(', ')}.`, ['NUCLEUS_MISSING_REQUIRED_CAPABILITIES']);
    }
    if (doc.requiredCapabilities?.includes('LARGE_CONFIGURATION')) {
      // Only the component list is taken from the full document (NUC DefaultDeploymentTask).
      const full = readDeviceConfiguration(await dataPlane.getDeploymentConfiguration(doc.deploymentId, { signal }));
      doc = { ...doc, components: full.components };
    }
    const group = deploymentGroupName(doc);

    // Targets: thing and local ones always count; group ones only while the device is still in the group (§1.3).
    const membership = new Set<string>();
    for (const g of await dataPlane.listThingGroupsForCoreDevice({ signal })) {
      membership.add(`thinggroup/${g.thingGroupName}`);
      for (const parent of g.rootToParentThingGroups ?? []) membership.add(`thinggroup/${parent.thingGroupName}`);
    }
    const kept: PinnedTargets = {};
    for (const [name, t] of Object.entries(state.get('targets'))) {
      if (name === group) continue;
      if (name.startsWith('thinggroup/') && !membership.has(name)) {
        log.info({ target: name }, 'the device left this thing group: its components go');
        continue;
      }
      kept[name] = t;
    }
    const ownRoots = Object.fromEntries(Object.entries(doc.components).map(([n, c]) => [n, c.version]));
    const targets: PinnedTargets = { ...kept, [group]: { components: ownRoots, configurationArn: doc.configurationArn, timestamp: doc.creationTimestamp } };
    const roots: RootsByGroup = Object.fromEntries(Object.entries(targets).map(([name, t]) => [name, t.components]));

    const installed = state.get('components');
    const resolved = await resolveOnDevice(
      roots,
      {
        installedVersion: (name) => installed[name]?.version,
        bestLocalVersion: (name, ranges) => store.bestLocalVersion(name, ranges),
        local: (name, version) => store.readRecipe(name, version),
        fromCloud: async (name, requirements, localCandidate, s) => {
          const r = await dataPlane.resolveComponentCandidates(
            this.deps.platform,
            { componentName: name, componentVersion: localCandidate, versionRequirements: requirements },
            { signal: s, retry: localCandidate === undefined },
          );
          const recipe = await store.saveRecipe({ componentName: r.componentName, componentVersion: r.componentVersion, recipe: r.recipe, arn: r.arn });
          return { version: r.componentVersion, recipe };
        },
      },
      signal,
    );

    for (const [name, c] of resolved) {
      const manifest = selectManifest(c.recipe, this.deps.platform);
      await store.prepareArtifacts(name, c.version, manifest?.Artifacts ?? [], { signal });
    }

    const inputs = new Map<string, ComponentInput>();
    const componentsState: ComponentsState = {};
    const validation = new Map<string, Record<string, unknown>>();
    const configChanges = new Map<string, ConfigPath[]>();
    const changed = new Map<string, boolean>();
    for (const [name, c] of resolved) {
      const current = installed[name];
      let result;
      try {
        result = resolveConfiguration({
          current: current?.configuration,
          defaults: c.recipe.ComponentConfiguration?.DefaultConfiguration,
          update: ownUpdateOf(doc, name),
          timestamp: doc.creationTimestamp,
        });
      } catch (e) {
        if (e instanceof JsonPointerError) throw new DeploymentError(`Component ${name}: ${e.message}`, ['DEPLOYMENT_DOCUMENT_NOT_VALID', 'DEPLOYMENT_DOCUMENT_PARSE_ERROR']);
        throw e;
      }
      const runWith = resolveRunWith(current?.runWith, ownEntryOf(doc, name));
      inputs.set(name, { version: c.version, recipe: c.recipe, configuration: result.resolved, runWith });
      componentsState[name] = { version: c.version, configuration: result.tree, ...(runWith && { runWith }) };
      changed.set(name, result.changed);
      configChanges.set(name, result.changes);
      if (current && current.version === c.version && result.changed) validation.set(name, result.resolved);
    }
    const rendered = renderComponents(this.context(), inputs);
    const target = Object.fromEntries([...rendered].map(([name, r]) => [name, { service: r.service, configurationChanged: changed.get(name)! }]));
    const plan = planDeployment(this.deps.components.current(), target);
    return { plan, rendered, componentsState, targets, validation, configChanges, versions: [...resolved].map(([n, c]) => componentRef(n, c.version)) };
  }

  private context() {
    return { root: this.deps.root, thingName: this.deps.thingName, platform: this.deps.platform };
  }

  private snapshot(): DeviceSnapshot {
    const running = this.deps.components.names.filter((n) => {
      const s = this.deps.components.runner(n)!.state;
      return s === 'RUNNING' || s === 'FINISHED';
    });
    return { components: this.deps.state.get('components'), targets: this.deps.state.get('targets'), running };
  }

  private failedNoStateChange(e: unknown, doc: DeviceConfiguration | undefined): DeploymentEnd {
    const codes: readonly DeploymentErrorCode[] = e instanceof DeploymentError ? e.codes : ['DEPLOYMENT_FAILURE'];
    const outcome: DeploymentOutcome = {
      detailedStatus: 'FAILED_NO_STATE_CHANGE',
      failureCause: e instanceof Error ? e.message : String(e),
      errorStack: [...codes],
      errorTypes: e instanceof DeploymentError ? errorTypesOf(codes) : ['UNKNOWN_ERROR'],
    };
    return { kind: 'outcome', outcome, document: doc, targets: this.deps.state.get('targets'), unchangedRoots: [], removed: [] };
  }

  /** Keeps the versions in use and those a rollback may need; removes the rest (semantics §4.3, last point). */
  private async cleanup(keep: string[]): Promise<void> {
    try {
      const removed = await this.deps.store.cleanup(keep);
      if (removed.length > 0) this.deps.log.info({ removed }, 'component store cleaned');
    } catch (e) {
      this.deps.log.warn({ err: e }, 'component store cleanup failed');
    }
  }
}
