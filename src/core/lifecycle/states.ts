// Component lifecycle states and the nucleus's rules about them (semantics §6.3): which state changes a process (or a
// component over IPC) may report, the step timeouts, and when repeated errors make a component BROKEN. Pure.

/** The device's component states, as InstalledComponentLifecycleState reports them. */
export const COMPONENT_STATES = ['NEW', 'INSTALLED', 'STARTING', 'RUNNING', 'STOPPING', 'ERRORED', 'BROKEN', 'FINISHED'] as const;
export type ComponentState = (typeof COMPONENT_STATES)[number];

/** Why a component changed state (the nucleus's ComponentStatusCode, the ones meadow's agent produces). */
export type ComponentStatusCode =
  | 'NONE'
  | 'INSTALL_ERROR'
  | 'INSTALL_TIMEOUT'
  | 'INSTALL_MISSING_DEFAULT_RUNWITH'
  | 'STARTUP_ERROR'
  | 'STARTUP_TIMEOUT'
  | 'STARTUP_MISSING_DEFAULT_RUNWITH'
  | 'RUN_ERROR'
  | 'RUN_TIMEOUT'
  | 'RUN_MISSING_DEFAULT_RUNWITH'
  | 'SHUTDOWN_ERROR'
  | 'SHUTDOWN_TIMEOUT'
  | 'SHUTDOWN_MISSING_DEFAULT_RUNWITH';

/**
 * State changes that a running step or the component itself (IPC UpdateState) may report, by the last reported
 * state; anything else is ignored, as the nucleus does. The agent's own transitions (NEW -> INSTALLED, ...) are not
 * reports and are not limited by this table.
 */
export const REPORTABLE_TRANSITIONS: Readonly<Partial<Record<ComponentState, readonly ComponentState[]>>> = {
  NEW: ['ERRORED'],
  STARTING: ['RUNNING', 'ERRORED', 'FINISHED'],
  RUNNING: ['ERRORED', 'FINISHED'],
  STOPPING: ['ERRORED', 'FINISHED'],
};

export const canReport = (from: ComponentState, to: ComponentState) => REPORTABLE_TRANSITIONS[from]?.includes(to) ?? false;

/** A deployment waits for these (semantics §2.3). */
export const isSettledHealthy = (state: ComponentState) => state === 'RUNNING' || state === 'FINISHED';

/** The third continual ERRORED from one state makes the component BROKEN. */
export const MAX_CONTINUAL_ERRORS = 3;
/** Errors further apart than this (the nucleus's default `errorResetTime`) do not add up. */
export const DEFAULT_ERROR_RESET_SECONDS = 3600;

/** Default step timeouts in seconds (nucleus `Lifecycle`, `GenericExternalService`); Run has none. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = {
  Bootstrap: 120,
  Install: 120,
  Startup: 120,
  Run: undefined,
  Shutdown: 15,
  Recover: 60,
  Uninstall: 120,
} as const satisfies Record<string, number | undefined>;

/** Only errors from these states count towards BROKEN: they are the ones that stop a component from working. */
const COUNTED_ORIGINS: ReadonlySet<ComponentState> = new Set(['NEW', 'STARTING', 'RUNNING']);

/**
 * The nucleus's BROKEN rule. Every state change goes through `next`: an ERRORED from NEW, STARTING or RUNNING is
 * counted against that state (the count restarts when the previous error from that state is at least the reset time
 * old); any other change out of a state clears that state's count. The third counted error yields BROKEN instead of
 * ERRORED.
 */
export class ContinualErrors {
  private readonly errorTimes = new Map<ComponentState, number[]>();

  constructor(private readonly resetAfterMs: number = DEFAULT_ERROR_RESET_SECONDS * 1000) {}

  /** The state to enter when `from` changes to `to` at `now` (epoch ms). */
  next(from: ComponentState, to: ComponentState, now: number): ComponentState {
    if (to !== 'ERRORED' || !COUNTED_ORIGINS.has(from)) {
      this.errorTimes.delete(from);
      return to;
    }
    const times = this.errorTimes.get(from) ?? [];
    if (times.length > 0 && now - times[times.length - 1] >= this.resetAfterMs) times.length = 0;
    times.push(now);
    this.errorTimes.set(from, times);
    return times.length >= MAX_CONTINUAL_ERRORS ? 'BROKEN' : 'ERRORED';
  }

  /** Errors counted so far from `state`. */
  count(state: ComponentState): number {
    return this.errorTimes.get(state)?.length ?? 0;
  }

  /** A reinstall gives a BROKEN component a fresh start. */
  clear(): void {
    this.errorTimes.clear();
  }
}
