// Servers under test run as child processes, so their CPU time can be read from /proc apart from the load
// generator's, and a slow server cannot borrow the load generator's event loop (or the reverse).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface ServerProcess {
  pid: number;
  /** http://127.0.0.1:port */
  endpoint: string;
  /** User + system CPU seconds the process has used so far, all threads included. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** utime + stime of any process, from /proc/<pid>/stat (fields 14 and 15, counted after the ')' of the name). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds all processes on the machine have used since boot (user, nice, system, irq, softirq). */
export function machineCpuSeconds(): number {
  const [, user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq) / CLOCK_TICKS_PER_SECOND;
}

/** Below this much CPU use (in cores) the machine counts as quiet. */
export const QUIET_CORES = 0.3;

/**
 * Other work on the machine skews throughput (it shares the cores). Waits, up to `maxSeconds`, for a second in
 * which the machine used less than QUIET_CORES; returns the last second's use, in cores, so the caller can warn.
 */
export async function waitForQuietMachine(maxSeconds: number): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const before = machineCpuSeconds();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = machineCpuSeconds() - before;
    if (busy < QUIET_CORES || Date.now() >= deadline) return busy;
  }
}

/** A port nobody listens on right now (the OS picks it; we release it for the child to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const addr = probe.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The access key every benchmark signs with (the servers it starts are given it). */
export const BENCH_CREDENTIALS = { accessKeyId: 'AKIAMEADOWBENCH00001', secretAccessKey: 'meadow-bench-secret-key-000000000000000' };

/** The environment of a `meadow serve` under benchmark: loopback, quiet logs, no API rate limit, the bench's key. */
export function meadowServeEnv(opts: { port: number; dataDir: string; databaseUrl?: string }): Record<string, string> {
  return {
    MEADOW_PORT: String(opts.port),
    MEADOW_HOST: '127.0.0.1',
    MEADOW_DATA_DIR: opts.dataDir,
    MEADOW_DATABASE_URL: opts.databaseUrl ?? '',
    MEADOW_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId,
    MEADOW_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey,
    MEADOW_LOG_LEVEL: 'warn',
    MEADOW_API_RATE_LIMIT: '0',
  };
}

/** Spawns `node ...args` with the port in its environment and waits until GET /health answers 200. */
export async function startServerProcess(args: string[], env: Record<string, string>, port: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const endpoint = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`node ${args.join(' ')} exited with code ${exitCode} before answering /health`);
    const ok = await fetch(`${endpoint}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`node ${args.join(' ')} did not answer ${endpoint}/health within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    pid: child.pid!,
    endpoint,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    async stop() {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      // A graceful stop lets `--cpu-prof` write its profile; do not wait forever for it.
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
