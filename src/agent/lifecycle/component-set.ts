// A set of components started and stopped together, as the nucleus orders them (semantics §6.1): all install at
// once; a component starts only when each HARD dependency is RUNNING or FINISHED (a SOFT one may be in any state);
// a component whose HARD dependency falls out of that state while it is STARTING or RUNNING is restarted; stopping
// goes dependents first.
import { isSettledHealthy, startOrder, stopOrder, type ComponentState, type DependencyGraph } from '../../core/lifecycle/index.js';
import type { ComponentRunner, StateChange } from './component-runner.js';

export class ComponentSet {
  private readonly runners = new Map<string, ComponentRunner>();
  private readonly unsubscribe: (() => void)[] = [];

  /** `graph`: each component's dependencies (names outside the set are ignored) with their type. */
  constructor(
    runners: Iterable<ComponentRunner>,
    private readonly graph: DependencyGraph,
  ) {
    for (const r of runners) this.runners.set(r.name, r);
    for (const runner of this.runners.values()) {
      runner.dependenciesReady = () => this.hardDependencies(runner.name).every((d) => this.runners.get(d)!.readyForDependents());
      this.unsubscribe.push(runner.onStateChange((change) => this.dependencyChanged(change)));
    }
  }

  get(name: string): ComponentRunner | undefined {
    return this.runners.get(name);
  }

  /** Starts every component, dependencies first; each waits in INSTALLED for its HARD dependencies. */
  startAll(): void {
    for (const name of startOrder(this.subgraph())) this.runners.get(name)!.start();
  }

  /** Stops every component; each stops once all components depending on it have stopped. */
  async stopAll(): Promise<void> {
    const stopped = new Map<string, Promise<void>>();
    for (const name of stopOrder(this.subgraph())) {
      const dependents = [...this.runners.keys()].filter((d) => Object.hasOwn(this.graph[d] ?? {}, name));
      stopped.set(name, Promise.all(dependents.map((d) => stopped.get(d))).then(() => this.runners.get(name)!.stop()));
    }
    await Promise.all(stopped.values());
  }

  /**
   * Resolves when every component is RUNNING or FINISHED, or one is BROKEN (what a deployment waits for, §2.3):
   * the states at that moment.
   */
  settled(): Promise<Map<string, ComponentState>> {
    const snapshot = () => new Map([...this.runners].map(([n, r]) => [n, r.state]));
    const done = () => {
      const states = [...this.runners.values()].map((r) => r.state);
      return states.includes('BROKEN') || states.every(isSettledHealthy);
    };
    if (done()) return Promise.resolve(snapshot());
    return new Promise((resolve) => {
      const offs = [...this.runners.values()].map((r) =>
        r.onStateChange(() => {
          if (!done()) return;
          offs.forEach((off) => off());
          resolve(snapshot());
        }),
      );
    });
  }

  /** Stops listening to the components (they keep running). */
  detach(): void {
    this.unsubscribe.forEach((off) => off());
    for (const runner of this.runners.values()) runner.dependenciesReady = () => true;
  }

  private subgraph(): DependencyGraph {
    return Object.fromEntries([...this.runners.keys()].map((n) => [n, this.graph[n] ?? {}]));
  }

  private hardDependencies(name: string): string[] {
    return Object.entries(this.graph[name] ?? {})
      .filter(([dep, type]) => type === 'HARD' && this.runners.has(dep))
      .map(([dep]) => dep);
  }

  private dependencyChanged(change: StateChange): void {
    const dependency = this.runners.get(change.component)!;
    for (const dependent of this.runners.values()) {
      if (!this.hardDependencies(dependent.name).includes(change.component)) continue;
      if ((dependent.state === 'STARTING' || dependent.state === 'RUNNING') && !dependency.readyForDependents()) {
        dependent.restart();
      } else dependent.recheck();
    }
  }
}
