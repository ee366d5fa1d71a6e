// One component's lifecycle on the device, as the nucleus runs it (semantics §6.1, §6.3): Install, then Startup or
// Run as real processes, Shutdown on stop, Recover on error; the states NEW .. FINISHED / ERRORED / BROKEN with the
// retry rule; an event on every state change. The agent decides *what* should run (start/stop/restart/reinstall);
// this class decides *how*, one step at a time, from a single loop so that state changes never race.
import fs from 'node:fs';
import { systemClock, type Clock } from '../../core/clock.js';
import {
  canReport,
  ContinualErrors,
  DEFAULT_ERROR_RESET_SECONDS,
  DEFAULT_STEP_TIMEOUT_SECONDS,
  type ComponentState,
  type ComponentStatusCode,
} from '../../core/lifecycle/index.js';
import type { LifecycleStepName, ResolvedLifecycle, ResolvedStep } from '../../core/recipe/index.js';
import { CgroupLimits, type SystemResourceLimits } from './cgroups.js';
import { ComponentLog, type ComponentLogOptions } from './component-log.js';
import { MissingRunWithError, resolveRunAs } from './run-as.js';
import { shouldSkip } from './skipif.js';
import { DEFAULT_KILL_GRACE_MS, StepProcess } from './step-process.js';
import type { ProcessGroupRegistry } from './process-groups.js';

/** What to run: one component version, its lifecycle already chosen for this platform and interpolated. */
export interface ComponentSpec {
  name: string;
  lifecycle: ResolvedLifecycle;
  /** `{work:path}`: the steps' working directory, created if missing. */
  workDir: string;
  /** Variables the agent gives every step (AWS_IOT_THING_NAME, AWS_REGION, SVCUID, ...); Setenv overrides them. */
  env?: Record<string, string>;
  runWith?: { posixUser?: string; systemResourceLimits?: SystemResourceLimits };
}

export interface ComponentRunnerOptions {
  /** Where `<Component>.log` is written. */
  logDir: string;
  log?: ComponentLogOptions;
  /** Drives the errorResetTime rule; timeouts use real timers. */
  clock?: Clock;
  /** Step timeouts in ms used when the recipe gives no Timeout (defaults: the nucleus's). */
  defaultTimeoutsMs?: Partial<Record<LifecycleStepName, number>>;
  /** SIGTERM -> SIGKILL grace when a step's process group is stopped. */
  killGraceMs?: number;
  /** A root agent's user for components without runWith.posixUser (`user` or `user:group`). */
  defaultPosixUser?: string;
  /** The shell that runs each script with `-c` (the nucleus's runWithDefault.posixShell). */
  shell?: string;
  /** The environment steps inherit before the component's variables; default: the agent's own. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Where systemResourceLimits are applied; null: nowhere (always reported unsupported). */
  cgroups?: CgroupLimits | null;
  errorResetMs?: number;
  /** Records each step's process group while it lives (see process-groups.ts). */
  processGroups?: ProcessGroupRegistry;
}

export interface StateChange {
  component: string;
  from: ComponentState;
  to: ComponentState;
  statusCode: ComponentStatusCode;
  reason: string;
  /** Epoch ms, from the clock. */
  at: number;
}

export type ResourceLimitsStatus =
  | { status: 'NONE' }
  | { status: 'APPLIED'; cgroup: string }
  | { status: 'UNSUPPORTED'; reason: string };

type Pending = 'NONE' | 'RESTART' | 'REINSTALL';
type StepOutcome =
  | { kind: 'ok'; skipped: boolean }
  | { kind: 'failed'; code: ComponentStatusCode; reason: string }
  | { kind: 'timeout' };

export class ComponentRunner {
  private specValue: ComponentSpec;
  private readonly log: ComponentLog;
  private readonly clock: Clock;
  private readonly errors: ContinualErrors;
  private readonly listeners = new Set<(change: StateChange) => void>();
  private readonly processes = new Set<StepProcess>();

  private current: ComponentState = 'NEW';
  /** The state before the current one: where an ERRORED or BROKEN came from. */
  private previous: ComponentState = 'NEW';
  private code: ComponentStatusCode = 'NONE';
  private reasonText = '';
  /** What the agent wants: RUNNING (start), FINISHED (stop), or nothing yet. */
  private goal: 'RUNNING' | 'FINISHED' | undefined;
  private pending: Pending = 'NONE';
  /** Bumped on every start attempt; callbacks of an older attempt are ignored. */
  private generation = 0;
  private launched = -1;
  private brokenCleanedUp = false;
  private limits: ResourceLimitsStatus = { status: 'NONE' };

  private looping = false;
  private wake: () => void = () => {};
  private closed = false;

  /** HARD dependencies' readiness, installed by ComponentSet; true when the component has none. */
  dependenciesReady: () => boolean = () => true;

  constructor(spec: ComponentSpec, private readonly options: ComponentRunnerOptions) {
    this.specValue = spec;
    this.log = new ComponentLog(options.logDir, spec.name, options.log);
    this.clock = options.clock ?? systemClock;
    this.errors = new ContinualErrors(options.errorResetMs ?? DEFAULT_ERROR_RESET_SECONDS * 1000);
  }

  get name(): string {
    return this.specValue.name;
  }
  get spec(): ComponentSpec {
    return this.specValue;
  }
  get state(): ComponentState {
    return this.current;
  }
  get statusCode(): ComponentStatusCode {
    return this.code;
  }
  get statusReason(): string {
    return this.reasonText;
  }
  get logFile(): string {
    return this.log.file;
  }
  get resourceLimits(): ResourceLimitsStatus {
    return this.limits;
  }

  /** Called on every state change, in order. Returns the unsubscribe function. */
  onStateChange(listener: (change: StateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Install if needed, then start. A BROKEN component stays BROKEN until reinstall(). */
  start(): void {
    this.goal = 'RUNNING';
    this.kick();
  }

  /** Stops (Shutdown step, then the process groups are killed); resolves in FINISHED or BROKEN. */
  async stop(): Promise<void> {
    this.goal = 'FINISHED';
    if (this.pending === 'RESTART') this.pending = 'NONE';
    this.kick();
    await this.waitForState(['FINISHED', 'BROKEN']);
  }

  /** Stop and start again (a lifecycle or Setenv change, semantics §3.6). */
  restart(): void {
    this.goal = 'RUNNING';
    if (this.current === 'BROKEN') this.pending = 'REINSTALL';
    else if (this.pending === 'NONE') this.pending = 'RESTART';
    this.kick();
  }

  /** Stop, install again and start: for a new version, an Install or runWith change, and the only way out of BROKEN. */
  reinstall(): void {
    this.goal = 'RUNNING';
    this.pending = 'REINSTALL';
    this.kick();
  }

  /** Replaces what is run; takes effect at the next step (pair with restart/reinstall as semantics §3.6 says). */
  update(spec: ComponentSpec): void {
    this.specValue = spec;
  }

  /** The component's own report (IPC UpdateState): RUNNING or ERRORED, accepted only where the nucleus accepts it. */
  reportState(state: ComponentState, reason = 'reported by the component'): boolean {
    if (!canReport(this.current, state)) {
      this.log.line('runner', `ignored reported state ${state} in ${this.current}`);
      return false;
    }
    this.enter(state, state === 'ERRORED' ? this.errorCodeFor(this.current) : 'NONE', reason);
    return true;
  }

  /** Is this component far enough for a HARD dependent to start (the nucleus's dependencyFinishedStarting)? */
  readyForDependents(): boolean {
    const s = this.current;
    return s === 'RUNNING' || s === 'FINISHED' || (s === 'STOPPING' && this.errors.count('STARTING') === 0);
  }

  /** Re-evaluates waiting conditions (e.g. a dependency changed state). */
  recheck(): void {
    this.kick();
  }

  /** Resolves once the state is one of `states` (immediately if it already is). */
  waitForState(states: readonly ComponentState[], timeoutMs?: number): Promise<ComponentState> {
    if (states.includes(this.current)) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              off();
              reject(new Error(`${this.name}: still ${this.current} after ${timeoutMs} ms, waiting for ${states.join('/')}`));
            }, timeoutMs);
      const off = this.onStateChange((c) => {
        if (!states.includes(c.to)) return;
        off();
        clearTimeout(timer);
        resolve(c.to);
      });
    });
  }

  /** Stops the component and closes its log. */
  async close(): Promise<void> {
    await this.stop();
    this.closed = true;
    this.kick();
    this.log.close();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The loop: one action for the current state at a time; waits for a kick when there is nothing to do.

  private kick(): void {
    if (this.looping) return this.wake();
    this.looping = true;
    void this.loop().finally(() => {
      this.looping = false;
    });
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      let acted: boolean;
      try {
        acted = await this.act();
      } catch (e) {
        // A bug or an I/O failure of the agent itself: the component errors rather than the agent crashing.
        this.log.line('runner', `internal error: ${(e as Error).stack ?? e}`);
        acted = this.enter('ERRORED', this.errorCodeFor(this.current), `agent error: ${(e as Error).message}`);
      }
      if (!acted) await woken;
    }
  }

  /** Does what the current state calls for; false when it must wait for something outside (a process, the agent). */
  private async act(): Promise<boolean> {
    const s = this.current;
    const wantsStop = this.goal !== 'RUNNING' || this.pending !== 'NONE';
    switch (s) {
      case 'NEW':
        if (this.pending === 'REINSTALL') this.pending = 'NONE';
        if (this.goal === 'FINISHED') return this.enter('FINISHED', 'NONE', 'stopped before install');
        if (this.goal !== 'RUNNING') return false;
        return this.install();
      case 'INSTALLED':
        if (this.pending === 'RESTART') this.pending = 'NONE';
        if (this.pending === 'REINSTALL') return this.enter('NEW', 'NONE', 'reinstall requested');
        if (this.goal === 'FINISHED') return this.enter('FINISHED', 'NONE', 'stopped');
        if (this.goal !== 'RUNNING' || !this.dependenciesReady()) return false;
        this.generation++;
        return this.enter('STARTING', 'NONE', '');
      case 'STARTING':
        if (wantsStop) return this.enter('STOPPING', 'NONE', '');
        if (this.launched !== this.generation) return this.launch();
        return false;
      case 'RUNNING':
        return wantsStop ? this.enter('STOPPING', 'NONE', '') : false;
      case 'STOPPING':
        return this.stopProcesses();
      case 'ERRORED':
        return this.handleError();
      case 'BROKEN':
        if (!this.brokenCleanedUp) {
          this.brokenCleanedUp = true;
          if (this.previous === 'STARTING' || this.previous === 'RUNNING') await this.shutdown();
          else await this.killAll();
        }
        if (this.pending !== 'REINSTALL') return false;
        this.errors.clear();
        return this.enter('NEW', 'NONE', 'reinstall requested');
      case 'FINISHED':
        if (this.pending === 'REINSTALL') return this.enter('NEW', 'NONE', 'reinstall requested');
        if (this.goal === 'RUNNING') {
          this.pending = 'NONE';
          return this.enter('INSTALLED', 'NONE', 'start requested');
        }
        return false;
    }
  }

  /**
   * Moves to `to` (the BROKEN rule may turn an ERRORED into BROKEN) and tells the listeners. Always returns true so
   * that `act` can `return this.enter(...)`.
   */
  private enter(to: ComponentState, code: ComponentStatusCode, reason: string): boolean {
    const from = this.current;
    const next = this.errors.next(from, to, this.clock.now());
    if (next === from) return true;
    this.previous = from;
    this.current = next;
    this.code = code;
    this.reasonText = reason;
    if (next === 'BROKEN') this.brokenCleanedUp = false;
    if (next === 'NEW' || next === 'STARTING') this.launched = -1;
    this.log.line('runner', `${from} -> ${next}${code !== 'NONE' ? ` (${code})` : ''}${reason ? `: ${reason}` : ''}`);
    const change: StateChange = { component: this.name, from, to: next, statusCode: code, reason, at: this.clock.now() };
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (e) {
        this.log.line('runner', `state listener failed: ${(e as Error).message}`);
      }
    }
    this.wake();
    return true;
  }

  /** `enter`, but only if nothing else changed the state while a step ran. */
  private enterFrom(from: ComponentState, to: ComponentState, code: ComponentStatusCode, reason: string): boolean {
    if (this.current !== from) return true;
    return this.enter(to, code, reason);
  }

  private errorCodeFor(state: ComponentState): ComponentStatusCode {
    if (state === 'NEW') return 'INSTALL_ERROR';
    if (state === 'STARTING') return this.spec.lifecycle.steps.Startup ? 'STARTUP_ERROR' : 'RUN_ERROR';
    if (state === 'RUNNING') return 'RUN_ERROR';
    return 'SHUTDOWN_ERROR';
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The steps.

  private async install(): Promise<boolean> {
    await this.killAll();
    const outcome = await this.runToCompletion('Install');
    if (outcome.kind === 'ok') return this.enterFrom('NEW', 'INSTALLED', 'NONE', outcome.skipped ? 'install skipped' : '');
    if (outcome.kind === 'timeout') return this.enterFrom('NEW', 'ERRORED', 'INSTALL_TIMEOUT', 'Timeout in install');
    return this.enterFrom('NEW', 'ERRORED', outcome.code, outcome.reason);
  }

  /** STARTING: Startup (RUNNING when it exits 0) or Run (RUNNING as soon as it starts), or nothing to run. */
  private async launch(): Promise<boolean> {
    const generation = (this.launched = this.generation);
    await this.killAll();
    const { Startup, Run } = this.spec.lifecycle.steps;
    const stepName: LifecycleStepName | undefined = Startup ? 'Startup' : Run ? 'Run' : undefined;
    if (!stepName) return this.enterFrom('STARTING', 'FINISHED', 'NONE', 'Nothing done');
    const step = (Startup ?? Run)!;
    this.applyResourceLimits();
    const started = await this.startStep(stepName, step);
    if (this.generation !== generation || this.current !== 'STARTING') {
      if (started.kind === 'started') await started.process.killGroup(this.killGraceMs);
      return true;
    }
    if (started.kind === 'skipped') {
      // The nucleus reports RUNNING for a skipped Run (and would wait out the startup timeout for a skipped Startup;
      // meadow treats that the same as a skipped Run).
      return this.enter('RUNNING', 'NONE', `${stepName} skipped`);
    }
    if (started.kind === 'failed') return this.enter('ERRORED', started.code, started.reason);
    const proc = started.process;
    this.addToCgroup(proc.pid);
    const stillCurrent = () => this.generation === generation;

    if (stepName === 'Startup') {
      const timer = setTimeout(() => {
        if (stillCurrent() && this.current === 'STARTING') this.enter('ERRORED', 'STARTUP_TIMEOUT', 'startup timeout');
      }, this.timeoutMs('Startup', step));
      void proc.exited.then((exit) => {
        clearTimeout(timer);
        this.log.line('runner', `Startup script exited: ${describeExit(exit)}`);
        if (!stillCurrent() || (this.current !== 'STARTING' && this.current !== 'RUNNING')) return;
        if (exit.code === 0) {
          if (this.current === 'STARTING') this.enter('RUNNING', 'NONE', '');
        } else this.enter('ERRORED', 'STARTUP_ERROR', `Non-zero exit code in startup: ${describeExit(exit)}`);
      });
      return false;
    }

    const timeoutMs = this.timeoutMs('Run', step);
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (stillCurrent() && proc.isRunning && this.current === 'RUNNING') this.enter('ERRORED', 'RUN_TIMEOUT', 'Run timeout');
          }, timeoutMs);
    void proc.exited.then((exit) => {
      clearTimeout(timer);
      this.log.line('runner', `Run script exited: ${describeExit(exit)}`);
      if (!stillCurrent() || this.current !== 'RUNNING') return;
      if (exit.code === 0) {
        // A Run that ends well: the component stops and is FINISHED.
        this.goal = 'FINISHED';
        this.kick();
      } else this.enter('ERRORED', 'RUN_ERROR', `Non-zero exit code in run: ${describeExit(exit)}`);
    });
    return this.enter('RUNNING', 'NONE', '');
  }

  /** STOPPING: the Shutdown step (bounded by its timeout), then every process group of the component is killed. */
  private async stopProcesses(): Promise<boolean> {
    const timedOut = await this.shutdown();
    if (timedOut) return this.enterFrom('STOPPING', 'ERRORED', 'SHUTDOWN_TIMEOUT', 'Timeout in shutdown');
    return this.afterStopped('STOPPING');
  }

  /** Where a stopped component goes: NEW for a reinstall, INSTALLED to start again, else FINISHED. */
  private afterStopped(from: ComponentState): boolean {
    if (this.pending === 'REINSTALL') return this.enterFrom(from, 'NEW', 'NONE', 'reinstall requested');
    if (this.goal === 'RUNNING') {
      this.pending = 'NONE';
      return this.enterFrom(from, 'INSTALLED', 'NONE', 'restarting');
    }
    return this.enterFrom(from, 'FINISHED', 'NONE', '');
  }

  /** Runs Shutdown and kills what is left; true when Shutdown ran out of time. */
  private async shutdown(): Promise<boolean> {
    const outcome = await this.runToCompletion('Shutdown');
    await this.killAll();
    return outcome.kind === 'timeout';
  }

  /** ERRORED: Recover, then retry (or, when stopping, finish). */
  private async handleError(): Promise<boolean> {
    const erroredFrom = this.previous;
    const outcome = await this.runToCompletion('Recover');
    if (outcome.kind === 'timeout') this.log.line('runner', 'Recover timed out');
    if (this.current !== 'ERRORED') return true;
    // An error outside any request is retried (the nucleus re-requests start).
    if (this.goal === undefined) this.goal = 'RUNNING';
    switch (erroredFrom) {
      case 'STARTING':
      case 'RUNNING':
        return this.enter('STOPPING', 'NONE', 'retrying after error');
      case 'NEW':
        return this.enter('NEW', 'NONE', 'retrying install after error');
      default:
        // An error while stopping (Shutdown ran out of time): the stop completes.
        await this.killAll();
        return this.afterStopped('ERRORED');
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Processes.

  private get killGraceMs(): number {
    return this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  private timeoutMs(name: LifecycleStepName, step: ResolvedStep): number | undefined {
    if (step.timeoutSeconds !== undefined) return step.timeoutSeconds * 1000;
    const override = this.options.defaultTimeoutsMs?.[name];
    if (override !== undefined) return override;
    const seconds: number | undefined = DEFAULT_STEP_TIMEOUT_SECONDS[name];
    return seconds === undefined ? undefined : seconds * 1000;
  }

  /** Runs a foreground step (Install, Shutdown, Recover) to its end or its timeout; a missing step is ok. */
  private async runToCompletion(name: LifecycleStepName): Promise<StepOutcome> {
    const step = this.spec.lifecycle.steps[name];
    if (!step) return { kind: 'ok', skipped: true };
    const started = await this.startStep(name, step);
    if (started.kind === 'skipped') return { kind: 'ok', skipped: true };
    if (started.kind === 'failed') return started;
    const proc = started.process;
    const timeoutMs = this.timeoutMs(name, step);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([proc.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.log.line('runner', `${name} timed out after ${timeoutMs} ms`);
      await proc.killGroup(this.killGraceMs);
      this.processes.delete(proc);
      return { kind: 'timeout' };
    }
    this.log.line('runner', `${name} script exited: ${describeExit(result)}`);
    if (!proc.groupAlive()) this.processes.delete(proc);
    if (result.code === 0) return { kind: 'ok', skipped: false };
    const code: ComponentStatusCode = name === 'Install' ? 'INSTALL_ERROR' : name === 'Shutdown' ? 'SHUTDOWN_ERROR' : 'NONE';
    return { kind: 'failed', code, reason: `Script errored in ${name.toLowerCase()}: ${describeExit(result)}` };
  }

  private async startStep(
    name: LifecycleStepName,
    step: ResolvedStep,
  ): Promise<{ kind: 'started'; process: StepProcess } | { kind: 'skipped' } | { kind: 'failed'; code: ComponentStatusCode; reason: string }> {
    const failCode = this.failureCode(name);
    const spec = this.spec;
    const env: NodeJS.ProcessEnv = { ...(this.options.baseEnv ?? process.env), ...spec.env, ...spec.lifecycle.setenv, ...step.setenv };
    try {
      if (step.skipif !== undefined && shouldSkip(step.skipif, env.PATH)) {
        this.log.line('runner', `${name} skipped (Skipif ${step.skipif})`);
        return { kind: 'skipped' };
      }
    } catch (e) {
      return { kind: 'failed', code: failCode, reason: (e as Error).message };
    }
    let runAs;
    try {
      runAs = resolveRunAs(spec.runWith?.posixUser, this.options.defaultPosixUser, step.requiresPrivilege);
    } catch (e) {
      const code = e instanceof MissingRunWithError && failCode !== 'NONE' ? (failCode.replace('_ERROR', '_MISSING_DEFAULT_RUNWITH') as ComponentStatusCode) : failCode;
      return { kind: 'failed', code, reason: (e as Error).message };
    }
    if (runAs.home !== undefined) Object.assign(env, { HOME: runAs.home, USER: runAs.user, LOGNAME: runAs.user });
    try {
      fs.mkdirSync(spec.workDir, { recursive: true });
      if (runAs.uid !== undefined && runAs.uid !== 0) fs.chownSync(spec.workDir, runAs.uid, runAs.gid ?? runAs.uid);
      this.log.line('runner', `${name} starting${runAs.user ? ` as ${runAs.user}` : ''}`);
      const proc = await StepProcess.start({
        step: name,
        script: step.script,
        shell: this.options.shell ?? 'sh',
        cwd: spec.workDir,
        env,
        uid: runAs.uid,
        gid: runAs.gid,
        log: this.log,
        groups: this.options.processGroups && { registry: this.options.processGroups, component: spec.name },
      });
      this.processes.add(proc);
      return { kind: 'started', process: proc };
    } catch (e) {
      return { kind: 'failed', code: failCode, reason: `Script errored in ${name.toLowerCase()}: ${(e as Error).message}` };
    }
  }

  private failureCode(name: LifecycleStepName): ComponentStatusCode {
    switch (name) {
      case 'Install':
        return 'INSTALL_ERROR';
      case 'Startup':
        return 'STARTUP_ERROR';
      case 'Run':
        return 'RUN_ERROR';
      case 'Shutdown':
        return 'SHUTDOWN_ERROR';
      default:
        return 'NONE';
    }
  }

  /** Kills every process group this component started that still has members. */
  private async killAll(): Promise<void> {
    const procs = [...this.processes];
    this.processes.clear();
    await Promise.all(procs.map((p) => (p.groupAlive() ? p.killGroup(this.killGraceMs) : undefined)));
  }

  private applyResourceLimits(): void {
    const wanted = this.spec.runWith?.systemResourceLimits;
    if (!wanted || (wanted.memory === undefined && wanted.cpus === undefined)) {
      this.limits = { status: 'NONE' };
      return;
    }
    const cgroups = this.options.cgroups === undefined ? new CgroupLimits() : this.options.cgroups;
    const reason = cgroups === null ? 'resource limits are disabled for this agent' : cgroups.unsupportedReason();
    if (reason === undefined) {
      try {
        this.limits = { status: 'APPLIED', cgroup: cgroups!.apply(this.name, wanted) };
      } catch (e) {
        this.limits = { status: 'UNSUPPORTED', reason: (e as Error).message };
      }
    } else this.limits = { status: 'UNSUPPORTED', reason };
    if (this.limits.status === 'UNSUPPORTED') this.log.line('runner', `systemResourceLimits not applied: ${this.limits.reason}`);
  }

  private addToCgroup(pid: number): void {
    if (this.limits.status !== 'APPLIED') return;
    try {
      (this.options.cgroups ?? new CgroupLimits()).addProcess(this.name, pid);
    } catch (e) {
      this.limits = { status: 'UNSUPPORTED', reason: (e as Error).message };
      this.log.line('runner', `systemResourceLimits not applied: ${this.limits.reason}`);
    }
  }
}

function describeExit(exit: { code?: number; signal?: string }): string {
  return exit.signal !== undefined ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
