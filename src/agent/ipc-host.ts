// The agent's side of Greengrass IPC (src/agent/ipc/host.ts): component configuration read and written in the
// agent's durable state, lifecycle reports to the component's runner, and the two deployment conversations of
// semantics §4.2 — NOTIFY_COMPONENTS (PreComponentUpdateEvent, DeferComponentUpdate, PostComponentUpdateEvent) and
// configuration validation (ValidateConfigurationUpdateEvent, SendConfigurationValidityReport) — which the deployment
// drives through notifyAndWait / validate.
import { changedPaths, findNode, mergeIntoTree, valueAt, foldKey, type ConfigNode, type ConfigPath } from '../core/configuration/index.js';
import { DeploymentError } from '../core/deployment-errors.js';
import { MeadowError, invalid, notFound } from '../core/errors.js';
import type {
  ComponentUpdatePolicyEvent,
  ConfigurationNode,
  ConfigurationUpdateEvent,
  ConfigurationValidityReport,
  DeferComponentUpdateRequest,
  GetConfigurationRequest,
  IpcEventStream,
  IpcHost,
  IpcSubscription,
  ReportedLifecycleState,
  SubscribeToConfigurationUpdateRequest,
  UpdateConfigurationRequest,
  ValidateConfigurationUpdateEvent,
} from './ipc/host.js';
import type { ComponentManager } from './components.js';
import type { StateStore } from './state/index.js';
import { abortableSleep } from './dataplane/client.js';

interface ConfigSubscriber {
  caller: string;
  request: SubscribeToConfigurationUpdateRequest;
  events: IpcEventStream<ConfigurationUpdateEvent>;
}

/** One round of NOTIFY_COMPONENTS: who has answered, and the longest deferral asked for. */
interface PendingNotify {
  deploymentId: string;
  waitingFor: Set<string>;
  recheckAfterMs: number;
  answered: () => void;
}

interface PendingValidation {
  deploymentId: string;
  waitingFor: Set<string>;
  rejected: { component: string; message?: string }[];
  answered: () => void;
}

export class AgentIpcHost implements IpcHost {
  private readonly configSubscribers = new Set<ConfigSubscriber>();
  private readonly updateSubscribers = new Map<string, IpcEventStream<ComponentUpdatePolicyEvent>>();
  private readonly validateSubscribers = new Map<string, IpcEventStream<ValidateConfigurationUpdateEvent>>();
  private notify: PendingNotify | undefined;
  private validation: PendingValidation | undefined;

  constructor(
    private readonly state: StateStore,
    private readonly components: ComponentManager,
    private readonly log: (message: string) => void = () => {},
  ) {}

  updateState(caller: string, state: ReportedLifecycleState): void {
    const runner = this.components.runner(caller);
    if (!runner) throw notFound('Component', caller);
    runner.reportState(state, 'reported over IPC');
  }

  getConfiguration(_caller: string, request: GetConfigurationRequest): ConfigurationNode {
    const component = this.state.get('components')[request.componentName];
    if (!component) throw notFound('Component', request.componentName, `Component ${request.componentName} not found`);
    const node = findNode(component.configuration, request.keyPath);
    if (!node) throw notFound('Configuration', request.keyPath.join('/'), 'Key not found');
    return { name: node.name, value: valueAt(component.configuration, request.keyPath) };
  }

  async updateConfiguration(caller: string, request: UpdateConfigurationRequest): Promise<void> {
    const at = request.timestamp.getTime();
    let changes: ConfigPath[] = [];
    await this.state.commit((s) => {
      const component = s.components[caller];
      if (!component) throw notFound('Component', caller);
      const newer = newestLeafUnder(component.configuration, request.keyPath, request.valueToMerge);
      if (newer !== undefined && newer > at) {
        throw new MeadowError('VersionConflict', "Proposed timestamp is older than the config's latest modified timestamp");
      }
      const tree = mergeIntoTree(component.configuration, request.valueToMerge, at, request.keyPath);
      changes = changedPaths(component.configuration, tree);
      return { components: { ...s.components, [caller]: { ...component, configuration: tree } } };
    });
    this.announceChanges(caller, changes);
  }

  /** Tells the subscribers of a component's configuration which keys changed (IPC writes and deployments alike). */
  announceChanges(componentName: string, changes: readonly ConfigPath[]): void {
    for (const s of this.configSubscribers) {
      if (s.request.componentName !== componentName) continue;
      for (const path of changes) {
        if (isPrefix(s.request.keyPath, path) || isPrefix(path, s.request.keyPath)) s.events.send({ componentName, keyPath: [...path] });
      }
    }
  }

  subscribeToConfigurationUpdate(caller: string, request: SubscribeToConfigurationUpdateRequest, events: IpcEventStream<ConfigurationUpdateEvent>): IpcSubscription {
    const s = { caller, request, events };
    this.configSubscribers.add(s);
    return { close: () => this.configSubscribers.delete(s) };
  }

  subscribeToComponentUpdates(caller: string, events: IpcEventStream<ComponentUpdatePolicyEvent>): IpcSubscription {
    this.updateSubscribers.set(caller, events);
    return {
      close: () => {
        if (this.updateSubscribers.get(caller) === events) this.updateSubscribers.delete(caller);
        this.answerNotify(caller, 0);
      },
    };
  }

  deferComponentUpdate(caller: string, request: DeferComponentUpdateRequest): void {
    const n = this.notify;
    if (!n || n.deploymentId !== request.deploymentId) throw invalid(`No component update for deployment ${request.deploymentId} is waiting for an answer.`);
    this.log(`${caller} ${request.recheckAfterMs > 0 ? `defers the update by ${request.recheckAfterMs} ms` : 'is ready for the update'}${request.message ? `: ${request.message}` : ''}`);
    this.answerNotify(caller, request.recheckAfterMs);
  }

  subscribeToValidateConfigurationUpdates(caller: string, events: IpcEventStream<ValidateConfigurationUpdateEvent>): IpcSubscription {
    this.validateSubscribers.set(caller, events);
    return {
      close: () => {
        if (this.validateSubscribers.get(caller) === events) this.validateSubscribers.delete(caller);
      },
    };
  }

  sendConfigurationValidityReport(caller: string, report: ConfigurationValidityReport): void {
    const v = this.validation;
    if (!v || v.deploymentId !== report.deploymentId || !v.waitingFor.has(caller)) {
      throw invalid(`No configuration validation for deployment ${report.deploymentId} is waiting for ${caller}.`);
    }
    v.waitingFor.delete(caller);
    if (report.status === 'REJECTED') v.rejected.push({ component: caller, message: report.message });
    if (v.waitingFor.size === 0 || report.status === 'REJECTED') v.answered();
  }

  /** A removed component's subscriptions end. */
  forget(componentName: string): void {
    for (const s of [...this.configSubscribers]) if (s.caller === componentName) s.events.close();
    this.updateSubscribers.get(componentName)?.close();
    this.validateSubscribers.get(componentName)?.close();
  }

  /**
   * NOTIFY_COMPONENTS (semantics §4.2 step 3): a PreComponentUpdateEvent to every subscriber, then up to `timeoutMs`
   * for their DeferComponentUpdate; no answer counts as ready. While any answer asks for more time, wait the longest
   * and ask again — without limit, as the nucleus does (only cancellation ends it).
   */
  async notifyAndWait(deploymentId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      const subscribers = [...this.updateSubscribers];
      if (subscribers.length === 0) return;
      const answered = new Promise<void>((resolve) => {
        this.notify = { deploymentId, waitingFor: new Set(subscribers.map(([name]) => name)), recheckAfterMs: 0, answered: resolve };
      });
      for (const [, events] of subscribers) events.send({ preUpdateEvent: { deploymentId, isGgcRestarting: false } });
      try {
        await Promise.race([answered, abortableSleep(timeoutMs, signal)]);
      } finally {
        signal.throwIfAborted();
      }
      const recheck = this.notify?.recheckAfterMs ?? 0;
      this.notify = undefined;
      if (recheck <= 0) return;
      await abortableSleep(recheck, signal);
    }
  }

  /** PostComponentUpdateEvent: the update ran (or was discarded). */
  postUpdate(deploymentId: string): void {
    for (const events of this.updateSubscribers.values()) events.send({ postUpdateEvent: { deploymentId } });
  }

  /**
   * Configuration validation (semantics §4.2 step 4): each subscribed component whose configuration would change gets
   * the new configuration; a REJECTED report, or no report within the timeout, fails the deployment
   * (COMPONENT_CONFIGURATION_NOT_VALID) before anything on the device changed.
   */
  async validate(deploymentId: string, proposed: ReadonlyMap<string, Record<string, unknown>>, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const asked = [...proposed.keys()].filter((name) => this.validateSubscribers.has(name));
    if (asked.length === 0) return;
    const v: PendingValidation = { deploymentId, waitingFor: new Set(asked), rejected: [], answered: () => {} };
    const answered = new Promise<void>((resolve) => (v.answered = resolve));
    this.validation = v;
    try {
      for (const name of asked) this.validateSubscribers.get(name)!.send({ deploymentId, configuration: proposed.get(name) });
      await Promise.race([answered, abortableSleep(timeoutMs, signal)]);
    } finally {
      this.validation = undefined;
    }
    if (v.rejected.length > 0) {
      const why = v.rejected.map((r) => `${r.component}${r.message ? ` (${r.message})` : ''}`).join(', ');
      throw new DeploymentError(`Components rejected the configuration update: ${why}.`, ['COMPONENT_CONFIGURATION_NOT_VALID']);
    }
    if (v.waitingFor.size > 0) {
      throw new DeploymentError(
        `Components did not answer the configuration validation within ${timeoutMs / 1000} s: ${[...v.waitingFor].join(', ')}.`,
        ['COMPONENT_CONFIGURATION_NOT_VALID'],
      );
    }
  }

  private answerNotify(caller: string, recheckAfterMs: number): void {
    const n = this.notify;
    if (!n || !n.waitingFor.delete(caller)) return;
    n.recheckAfterMs = Math.max(n.recheckAfterMs, recheckAfterMs);
    if (n.waitingFor.size === 0) n.answered();
  }
}

const isPrefix = (prefix: readonly string[], path: readonly string[]) =>
  prefix.length <= path.length && prefix.every((k, i) => foldKey(k) === foldKey(path[i]));

/** The newest write time among the leaves a merge of `value` at `keyPath` would overwrite. */
function newestLeafUnder(tree: ConfigNode, keyPath: readonly string[], value: unknown): number | undefined {
  let newest: number | undefined;
  const visit = (path: string[], v: unknown) => {
    const node = findNode(tree as never, path);
    if (!node) return;
    if (node.kind === 'leaf') {
      newest = Math.max(newest ?? 0, node.modtime);
      return;
    }
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) for (const [k, child] of Object.entries(v)) visit([...path, k], child);
  };
  visit([...keyPath], value);
  return newest;
}
