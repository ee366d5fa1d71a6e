// runWith.systemResourceLimits through cgroup v2 (semantics §5): one cgroup per component under
// `<root>/meadow/<Component>`, memory.max = KB x 1024, cpu.max = "<cpus x period> <period>". Where cgroup v2 is not
// mounted at `root` (or cannot be written), limits are reported as unsupported and the component runs without them.
import fs from 'node:fs';
import path from 'node:path';

export interface SystemResourceLimits {
  /** Kilobytes. */
  memory?: number;
  /** Share of CPU time, 1.0 = one core. */
  cpus?: number;
}

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';
const DEFAULT_CPU_PERIOD_US = 100000;

export class CgroupLimits {
  constructor(
    private readonly root: string = DEFAULT_CGROUP_ROOT,
    private readonly slice: string = 'meadow',
  ) {}

  /** Why limits cannot be applied here, or undefined when they can. */
  unsupportedReason(): string | undefined {
    if (!fs.existsSync(path.join(this.root, 'cgroup.controllers'))) return `cgroup v2 is not mounted at ${this.root}`;
    return undefined;
  }

  /** Creates (or updates) the component's cgroup with these limits; no limit given = unlimited. Returns its path. */
  apply(component: string, limits: SystemResourceLimits): string {
    const sliceDir = path.join(this.root, this.slice);
    const dir = path.join(sliceDir, component);
    fs.mkdirSync(dir, { recursive: true });
    // Controllers must be enabled in every ancestor's subtree_control for the leaf to get their files.
    enableControllers(this.root);
    enableControllers(sliceDir);
    const memory = limits.memory !== undefined && limits.memory > 0 ? String(Math.floor(limits.memory * 1024)) : 'max';
    fs.writeFileSync(path.join(dir, 'memory.max'), memory);
    const period = readCpuPeriod(path.join(dir, 'cpu.max'));
    const quota = limits.cpus !== undefined && limits.cpus > 0 ? String(Math.max(1, Math.round(limits.cpus * period))) : 'max';
    fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${period}`);
    return dir;
  }

  /** Moves a process (and so everything it starts afterwards) into the component's cgroup. */
  addProcess(component: string, pid: number): void {
    fs.writeFileSync(path.join(this.root, this.slice, component, 'cgroup.procs'), String(pid));
  }
}

function enableControllers(dir: string): void {
  const available = fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
  const wanted = ['cpu', 'memory'].filter((c) => available.includes(c));
  if (wanted.length > 0) fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
}

function readCpuPeriod(cpuMax: string): number {
  try {
    const period = Number(fs.readFileSync(cpuMax, 'utf8').trim().split(/\s+/)[1]);
    return Number.isFinite(period) && period > 0 ? period : DEFAULT_CPU_PERIOD_US;
  } catch {
    return DEFAULT_CPU_PERIOD_US;
  }
}
