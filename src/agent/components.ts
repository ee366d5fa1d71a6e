// The components the agent runs: one ComponentRunner each, kept in one ComponentSet (dependency order), and the
// executor of a deployment plan (src/core/lifecycle/deployment-plan.ts): install, reinstall, restart, reconfigure,
// remove. It decides nothing itself: the plan says what changes, the runners say how.
import { rm } from 'node:fs/promises';
import { startOrder, type ComponentState, type DeploymentPlan, type DependencyGraph } from '../core/lifecycle/index.js';
import type { ComponentState as FleetComponentState } from '../core/fleet-status/index.js';
import type { RenderedComponent } from './deployment/render.js';
import { ComponentRunner, ComponentSet, type ComponentRunnerOptions, type StateChange } from './lifecycle/index.js';

export interface ComponentManagerOptions {
  runner: ComponentRunnerOptions;
  /** The variables every step of the component gets (thing name, region, IPC socket and SVCUID, ...). */
  environment(name: string): Record<string, string>;
  workDir(name: string): string;
  onStateChange(change: StateChange): void;
  /** A component is gone from the device: its IPC token and subscriptions end. */
  onRemoved(name: string): void;
}

export class ComponentManager {
  private readonly runners = new Map<string, ComponentRunner>();
  private readonly rendered = new Map<string, RenderedComponent>();
  private set = new ComponentSet([], {});

  constructor(private readonly options: ComponentManagerOptions) {}

  get names(): string[] {
    return [...this.runners.keys()];
  }

  runner(name: string): ComponentRunner | undefined {
    return this.runners.get(name);
  }

  /** What runs now, for the planner: the service configuration and state of each component. */
  current(): Record<string, { service: RenderedComponent['service']; state: ComponentState }> {
    return Object.fromEntries([...this.runners].map(([name, r]) => [name, { service: this.rendered.get(name)!.service, state: r.state }]));
  }

  version(name: string): string | undefined {
    return this.rendered.get(name)?.version;
  }

  /**
   * Carries out a plan towards `target` (every component that should be on the device, rendered). Removal is left to
   * `remove` (after the deployment succeeded, as the nucleus removes obsolete services last). Returns a promise for
   * the moment every tracked component is RUNNING or FINISHED after its new start, or one of them BROKEN.
   */
  apply(plan: DeploymentPlan, target: ReadonlyMap<string, RenderedComponent>): Promise<{ broken?: string }> {
    for (const name of [...plan.install, ...plan.reinstall, ...plan.restart, ...plan.reconfigure, ...plan.unchanged]) {
      this.rendered.set(name, target.get(name)!);
    }
    for (const name of plan.install) {
      const runner = new ComponentRunner(this.specOf(name), this.options.runner);
      runner.onStateChange((c) => this.options.onStateChange(c));
      this.runners.set(name, runner);
    }
    this.rebuildSet();
    const settled = this.waitForFreshStart(plan.tracked);
    for (const name of [...plan.reinstall, ...plan.restart, ...plan.reconfigure, ...plan.unchanged]) this.runners.get(name)!.update(this.specOf(name));
    const graph = this.graph();
    for (const name of startOrder(graph)) {
      const runner = this.runners.get(name)!;
      if (plan.install.includes(name)) runner.start();
      else if (plan.reinstall.includes(name)) runner.reinstall();
      else if (plan.restart.includes(name)) runner.restart();
    }
    return settled;
  }

  /** Stops and forgets components (dependents first), removing their work folders. */
  async remove(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const graph = this.graph();
    const order = startOrder(graph).reverse().filter((n) => names.includes(n));
    for (const name of order) {
      const runner = this.runners.get(name);
      if (!runner) continue;
      await runner.close();
      this.runners.delete(name);
      this.rendered.delete(name);
      this.options.onRemoved(name);
      await rm(this.options.workDir(name), { recursive: true, force: true });
    }
    this.rebuildSet();
  }

  /** Starts everything (the agent's launch). */
  launch(target: ReadonlyMap<string, RenderedComponent>): void {
    for (const [name, r] of target) {
      this.rendered.set(name, r);
      const runner = new ComponentRunner(this.specOf(name), this.options.runner);
      runner.onStateChange((c) => this.options.onStateChange(c));
      this.runners.set(name, runner);
    }
    this.rebuildSet();
    this.set.startAll();
  }

  /** Resolves when every component is RUNNING or FINISHED, or one is BROKEN. */
  settled(): Promise<Map<string, ComponentState>> {
    return this.set.settled();
  }

  async stopAll(): Promise<void> {
    await this.set.stopAll();
    for (const r of this.runners.values()) await r.close();
  }

  /** Every component as the fleet-status message lists it. */
  fleetComponents(rootsOf: (name: string) => { isRoot: boolean; fleetConfigArns: string[] }): FleetComponentState[] {
    return [...this.runners].map(([name, r]) => {
      const c: FleetComponentState = { componentName: name, version: this.rendered.get(name)!.version, status: r.state, ...rootsOf(name) };
      if (r.state === 'ERRORED' || r.state === 'BROKEN') {
        c.statusCodes = r.statusCode === 'NONE' ? [] : [r.statusCode];
        if (r.statusReason) c.statusReason = r.statusReason;
      }
      return c;
    });
  }

  private specOf(name: string) {
    const r = this.rendered.get(name)!;
    return {
      name,
      lifecycle: r.lifecycle,
      workDir: this.options.workDir(name),
      env: this.options.environment(name),
      runWith: { posixUser: r.runWith?.posixUser, systemResourceLimits: r.runWith?.systemResourceLimits },
    };
  }

  /** Each component's dependencies (from its recipe) with their type. */
  graph(): DependencyGraph {
    return Object.fromEntries([...this.rendered].map(([name, r]) => [name, r.dependencies]));
  }

  private rebuildSet(): void {
    this.set.detach();
    this.set = new ComponentSet(this.runners.values(), this.graph());
  }

  /** Resolves once each named runner has started again (passed STARTING) and is RUNNING/FINISHED, or one is BROKEN. */
  private waitForFreshStart(names: readonly string[]): Promise<{ broken?: string }> {
    if (names.length === 0) return Promise.resolve({});
    const started = new Set<string>();
    return new Promise((resolve) => {
      const offs: (() => void)[] = [];
      const done = (result: { broken?: string }) => {
        offs.forEach((off) => off());
        resolve(result);
      };
      for (const name of names) {
        offs.push(
          this.runners.get(name)!.onStateChange((c) => {
            if (c.to === 'BROKEN') return done({ broken: name });
            if (c.to === 'STARTING') started.add(name);
            if (names.every((n) => started.has(n) && (this.runners.get(n)!.state === 'RUNNING' || this.runners.get(n)!.state === 'FINISHED'))) done({});
          }),
        );
      }
    });
  }
}
