// One lifecycle step as a process: `sh -c <script>` in its own process group (so everything the script starts can be
// stopped together), output line by line to the component's log, and a group kill that escalates to SIGKILL.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { lineSplitter, type ComponentLog } from './component-log.js';
import type { ProcessGroupRegistry } from './process-groups.js';

/** How long a process group gets between SIGTERM and SIGKILL (the nucleus closes processes the same way). */
export const DEFAULT_KILL_GRACE_MS = 5000;
const GROUP_POLL_MS = 25;

export interface StepProcessOptions {
  /** `Install`, `Run`, ...: names the step in the log. */
  step: string;
  script: string;
  shell: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  log: ComponentLog;
  /** Where the group is recorded while it lives, for an agent restarted after a crash; `component` names it there. */
  groups?: { registry: ProcessGroupRegistry; component: string };
}

export interface StepExit {
  /** The exit code, or undefined when a signal ended the process. */
  code?: number;
  signal?: NodeJS.Signals;
}

export class StepProcess {
  readonly pid: number;
  /** Settles when the script's own process exits (its children may live on in the group). */
  readonly exited: Promise<StepExit>;
  private running = true;

  private constructor(pid: number, exited: Promise<StepExit>, private readonly registry?: ProcessGroupRegistry) {
    this.pid = pid;
    this.exited = exited.finally(() => {
      this.running = false;
      // A group whose processes all ended is forgotten; one that lives on (a daemon) stays recorded until killed.
      if (!groupAlive(pid)) registry?.remove(pid);
    });
  }

  /** Starts the step; rejects when the process cannot be started at all (no shell, bad cwd, unknown uid). */
  static start(o: StepProcessOptions): Promise<StepProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(o.shell, ['-c', o.script], {
        cwd: o.cwd,
        env: o.env,
        uid: o.uid,
        gid: o.gid,
        // A new session, hence a new process group whose id is the child's pid.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = lineSplitter((l) => o.log.line(`${o.step} stdout`, l));
      const err = lineSplitter((l) => o.log.line(`${o.step} stderr`, l));
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => err.push(c));
      const exited = new Promise<StepExit>((done) =>
        // 'close' waits for the pipes too, so the last output is logged before the exit is handled. A grandchild
        // that keeps the pipes open would hold 'close' back, hence 'exit' plus a short wait for the pipes.
        child.once('exit', (code, signal) => {
          const finish = () => {
            out.flush();
            err.flush();
            done({ ...(code !== null ? { code } : {}), ...(signal !== null ? { signal } : {}) });
          };
          if (child.stdout!.readableEnded && child.stderr!.readableEnded) finish();
          else {
            const t = setTimeout(finish, 100);
            child.once('close', () => {
              clearTimeout(t);
              finish();
            });
          }
        }),
      );
      child.once('error', reject);
      child.once('spawn', () => {
        child.off('error', reject);
        child.on('error', () => {}); // a failed kill of an exited process; the group kill handles the rest
        o.groups?.registry.add(child.pid!, o.groups.component, o.step);
        resolve(new StepProcess(child.pid!, exited, o.groups?.registry));
      });
    });
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Is any process of this step's group still alive (zombies do not count)? */
  groupAlive(): boolean {
    return groupAlive(this.pid);
  }

  /** SIGTERM to the whole group, SIGKILL to what is left after `graceMs`; resolves when the group is gone or killed. */
  async killGroup(graceMs: number = DEFAULT_KILL_GRACE_MS): Promise<void> {
    await killProcessGroup(this.pid, graceMs, this.exited);
    this.registry?.remove(this.pid);
  }
}

/**
 * SIGTERM to the group, SIGKILL to what is left after `graceMs`; resolves when the group is gone or killed. `reaped`
 * (the leader's exit, when this process is its parent) is awaited after the SIGKILL so no zombie leader remains.
 */
export async function killProcessGroup(pgid: number, graceMs: number, reaped?: Promise<unknown>): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await delay(GROUP_POLL_MS);
  }
  signalGroup(pgid, 'SIGKILL');
  await reaped;
  // SIGKILL cannot be ignored, but the processes take a moment to die.
  for (let i = 0; i < 40 && groupAlive(pgid); i++) await delay(GROUP_POLL_MS);
}

/** False when the group has no process left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/**
 * kill(-pgid, 0) also succeeds for zombies, which an init that does not reap (common in containers) leaves behind;
 * /proc tells the live members apart where it exists.
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      // Fields after the parenthesised command: state, ppid, pgrp, ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    }
    return false;
  } catch {
    return true; // no /proc: trust kill(0)
  }
}
