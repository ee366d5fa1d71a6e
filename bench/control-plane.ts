// Control-plane benchmark: CreateDeployment and GetDeployment against meadow on SQLite and on PostgreSQL, and the
// same requests against a bare node:http server with canned answers, all in one run. Prints a table and
// refreshes the results block of BENCHMARKS.md. Run: `npm run bench`.
//
// Environment (all optional):
//   MEADOW_BENCH_DURATION=10 MEADOW_BENCH_WARMUP=2   seconds per scenario, measured and warm-up
//   MEADOW_BENCH_CONNECTIONS=32                       keep-alive connections
//   MEADOW_BENCH_TARGETS=bare,sqlite,postgres         which servers to run
//   MEADOW_BENCH_OPERATIONS=CreateDeployment,GetDeployment
//   MEADOW_BENCH_QUIET_WAIT=60                        seconds to wait for other work on the machine to stop
//   MEADOW_BENCH_RETRIES=2                            measure again when other work ran meanwhile (best kept)
//   MEADOW_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres   where to create the throwaway database
//   MEADOW_BENCH_MAX_CREATE_RATE=2000                 sizes the pool of pre-signed CreateDeployment requests
//   MEADOW_BENCH_CPU_PROF=dir                         run the servers with --cpu-prof, profiles in dir/<target>/
//   MEADOW_BENCH_WRITE=0                              do not touch BENCHMARKS.md
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateComponentVersionCommand, CreateDeploymentCommand, GreengrassV2Client } from '@aws-sdk/client-greengrassv2';
import { CreateThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import { runLoad, signerFor, type Load, type LoadResult, type SignedRequest } from './load.js';
import { adminQuery, createBenchDatabase } from './postgres-admin.js';
import {
  BENCH_CREDENTIALS,
  freePort,
  machineCpuSeconds,
  meadowServeEnv,
  processCpuSeconds,
  QUIET_CORES,
  startServerProcess,
  waitForQuietMachine,
  type ServerProcess,
} from './server-process.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] || fallback);
  if (!(v > 0)) throw new Error(`${name} must be a positive number`);
  return v;
};
const DURATION = num('MEADOW_BENCH_DURATION', 10);
const WARMUP = num('MEADOW_BENCH_WARMUP', 2);
const CONNECTIONS = num('MEADOW_BENCH_CONNECTIONS', 32);
const MAX_CREATE_RATE = num('MEADOW_BENCH_MAX_CREATE_RATE', 2000);
const TARGETS = (process.env.MEADOW_BENCH_TARGETS || 'bare,sqlite,postgres').split(',') as Target[];
const OPERATIONS = (process.env.MEADOW_BENCH_OPERATIONS || 'CreateDeployment,GetDeployment').split(',') as Operation[];
const QUIET_WAIT = process.env.MEADOW_BENCH_QUIET_WAIT === '0' ? 0 : num('MEADOW_BENCH_QUIET_WAIT', 60);
const RETRIES = process.env.MEADOW_BENCH_RETRIES === '0' ? 0 : num('MEADOW_BENCH_RETRIES', 2);
const CPU_PROF_DIR = process.env.MEADOW_BENCH_CPU_PROF;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GROUP = 'bench-fleet';
const GROUP_ARN = `arn:aws:iot:us-east-1:123456789012:thinggroup/${GROUP}`;
const COMPONENTS = {
  'com.example.Hello': { componentVersion: '1.0.0' },
  'com.example.Telemetry': { componentVersion: '2.3.1', configurationUpdate: { merge: '{"intervalSeconds":5}' } },
};
/** Recipes for the deployed components; Telemetry needs Hello, so every create resolves a dependency. */
const RECIPES = [
  { ComponentName: 'com.example.Hello', ComponentVersion: '1.0.0' },
  {
    ComponentName: 'com.example.Telemetry',
    ComponentVersion: '2.3.1',
    ComponentDependencies: { 'com.example.Hello': { VersionRequirement: '>=1.0.0 <2.0.0', DependencyType: 'HARD' } },
  },
].map((r) => ({ RecipeFormatVersion: '2020-01-25', ...r, Manifests: [{ Platform: { os: 'linux' }, Lifecycle: { Run: 'echo hi' } }] }));
const createBody = (clientToken: string) => JSON.stringify({ targetArn: GROUP_ARN, deploymentName: 'bench', components: COMPONENTS, clientToken });

type Target = 'bare' | 'sqlite' | 'postgres';
type Operation = 'CreateDeployment' | 'GetDeployment';

interface Row extends LoadResult {
  target: Target;
  operation: Operation;
  serverCpuUsPerRequest: number;
  /** PostgreSQL backends' CPU per request (same machine only). */
  dbCpuUsPerRequest?: number;
  /** CPU cores used by everything else on the machine during the measured period (other jobs, the kernel). */
  otherCores: number;
  /** CreateDeployment requests that had to reuse a clientToken because the pre-signed pool ran out. */
  reusedTokens: number;
}

// ---- the servers -------------------------------------------------------------------------------------------

interface Running {
  server: ServerProcess;
  deploymentId: string;
  /** PostgreSQL database name when the target is postgres. */
  database?: string;
  cleanup(): Promise<void>;
}

async function start(target: Target): Promise<Running> {
  const port = await freePort();
  // One directory per target; V8 names each file by pid and thread (tsx's loader thread writes one too, the larger
  // file is the server's own thread).
  const profile = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROF_DIR, target)}`] : [];
  if (target === 'bare') {
    const server = await startServerProcess([...profile, '--import', 'tsx', join(ROOT, 'bench/bare-server.ts')], { BARE_PORT: String(port) }, port);
    return { server, deploymentId: '5d2f2a4e-6a43-4c1e-9a4a-2b1b6c8f0e11', cleanup: () => server.stop() };
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'meadow-bench-'));
  const db = target === 'postgres' ? await createBenchDatabase() : undefined;
  const database = db?.name;
  const dropAll = async () => {
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const env = meadowServeEnv({ port, dataDir, databaseUrl: db?.url });
  let server: ServerProcess;
  try {
    server = await startServerProcess([...profile, join(ROOT, 'bin/meadow.js'), 'serve'], env, port);
  } catch (e) {
    await dropAll();
    throw e;
  }

  // The fixtures go in through the real SDK, as a user would put them there.
  const clientConfig = { endpoint: server.endpoint, region: 'us-east-1', credentials: BENCH_CREDENTIALS, maxAttempts: 1 };
  const iot = new IoTClient(clientConfig);
  const gg = new GreengrassV2Client(clientConfig);
  try {
    await iot.send(new CreateThingGroupCommand({ thingGroupName: GROUP }));
    for (const recipe of RECIPES) await gg.send(new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(JSON.stringify(recipe)) }));
    const d = await gg.send(new CreateDeploymentCommand({ targetArn: GROUP_ARN, deploymentName: 'bench', components: COMPONENTS }));
    return { server, deploymentId: d.deploymentId!, database, cleanup: async () => (await server.stop(), await dropAll()) };
  } catch (e) {
    await server.stop();
    await dropAll();
    throw e;
  } finally {
    iot.destroy();
    gg.destroy();
  }
}

/** CPU seconds of the PostgreSQL backends serving `database`, by pid (readable when PostgreSQL runs on this machine). */
async function backendCpu(database: string): Promise<Map<number, number>> {
  const { rows } = await adminQuery('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, processCpuSeconds(pid));
    } catch {
      // not on this machine, or the backend just exited
    }
  }
  return cpu;
}

// ---- the scenarios -----------------------------------------------------------------------------------------

/** Pre-signed requests for one scenario: one to replay (GetDeployment), or a pool handed out in order. */
async function prepare(target: Target, running: Running, operation: Operation) {
  const sign = signerFor(running.server.endpoint, BENCH_CREDENTIALS);
  let pool: SignedRequest[];
  if (operation === 'GetDeployment') {
    pool = [await sign('GET', `/greengrass/v2/deployments/${running.deploymentId}`)];
  } else {
    // Every CreateDeployment carries its own clientToken, so idempotency never answers from memory.
    // The bare server ignores tokens, so a small pool it cycles through serves it the same bytes.
    const size = target === 'bare' ? 1000 : Math.ceil(MAX_CREATE_RATE * (WARMUP + DURATION));
    pool = [];
    for (let i = 0; i < size; i++) pool.push(await sign('POST', '/greengrass/v2/deployments', createBody(randomUUID())));
  }
  let sent = 0;
  return {
    load: pool.length === 1 ? pool[0] : () => pool[sent++ % pool.length],
    probe: () => pool[sent++ % pool.length],
    reused: () => (pool.length > 1 ? Math.max(0, sent - pool.length) : 0),
  };
}

async function measure(target: Target, running: Running, operation: Operation): Promise<Row> {
  const requests = await prepare(target, running, operation);
  // One request first: a mistake in signing or fixtures should stop the run, not be measured.
  const probe = requests.probe();
  const answer = await fetch(running.server.endpoint + probe.path, { method: probe.method, headers: probe.headers, body: probe.body });
  if (!answer.ok) throw new Error(`${target} ${operation}: probe answered ${answer.status} ${await answer.text()}`);

  // Other work on the machine takes cores from the server: measure again, and keep the least disturbed run.
  let best: Row | undefined;
  for (let attempt = 0; attempt <= RETRIES && !(best && best.otherCores < QUIET_CORES); attempt++) {
    if (attempt > 0) process.stderr.write(`  other work used ${fmt(best!.otherCores, 1)} cores meanwhile; measuring again\n`);
    const busy = await waitForQuietMachine(QUIET_WAIT);
    if (busy >= QUIET_CORES) process.stderr.write(`  the machine is busy with other work (${fmt(busy, 1)} cores); measuring anyway\n`);
    const row = await measureOnce(target, running, operation, requests.load);
    if (!best || row.otherCores < best.otherCores) best = row;
  }
  return { ...best!, reusedTokens: target === 'bare' ? 0 : requests.reused() };
}

/** A warm-up, then the measured period. */
async function measureOnce(target: Target, running: Running, operation: Operation, requests: Load): Promise<Row> {
  await runLoad(running.server.endpoint, CONNECTIONS, WARMUP, requests);
  const cpuBefore = running.server.cpuSeconds();
  const dbBefore = running.database ? await backendCpu(running.database) : undefined;
  const machineBefore = machineCpuSeconds();
  const load = await runLoad(running.server.endpoint, CONNECTIONS, DURATION, requests);
  const machineCpu = machineCpuSeconds() - machineBefore;
  const serverCpu = running.server.cpuSeconds() - cpuBefore;
  let dbCpu: number | undefined;
  if (running.database && dbBefore) {
    const dbAfter = await backendCpu(running.database);
    dbCpu = [...dbAfter].reduce((sum, [pid, s]) => sum + s - (dbBefore.get(pid) ?? 0), 0);
  }
  return {
    target,
    operation,
    ...load,
    serverCpuUsPerRequest: (serverCpu * 1e6) / load.requests,
    dbCpuUsPerRequest: dbCpu === undefined ? undefined : (dbCpu * 1e6) / load.requests,
    otherCores: Math.max(0, machineCpu - serverCpu - (dbCpu ?? 0) - load.loadGeneratorCpuSeconds) / load.wallSeconds,
    reusedTokens: 0,
  };
}

// ---- reporting ---------------------------------------------------------------------------------------------

function machine() {
  const osRelease = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? 'unknown';
  return {
    cores: execFileSync('nproc').toString().trim(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    os: `${osRelease}, Linux ${release()}`,
  };
}

const fmt = (n: number | undefined, digits = 0) => (n === undefined ? '–' : n.toFixed(digits));

function table(rows: Row[]): string {
  const bare = (op: Operation) => rows.find((r) => r.target === 'bare' && r.operation === op);
  const lines = [
    '| Store | Operation | Requests/s | p50 ms | p99 ms | Server CPU µs/req | PostgreSQL CPU µs/req | Throughput vs bare | Server CPU vs bare | Load generator CPU | Other CPU | Failures |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const b = bare(r.operation);
    const failures = Object.entries(r.failures).map(([k, v]) => `${v}× ${k}`);
    if (r.reusedTokens > 0) failures.push(`${r.reusedTokens} reused clientTokens (raise MEADOW_BENCH_MAX_CREATE_RATE)`);
    lines.push(
      `| ${r.target} | ${r.operation} | ${fmt(r.perSecond)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.serverCpuUsPerRequest)} | ${fmt(r.dbCpuUsPerRequest)} | ` +
        `${b && r !== b ? `${fmt((100 * r.perSecond) / b.perSecond)} %` : '–'} | ${b && r !== b ? `${fmt(r.serverCpuUsPerRequest / b.serverCpuUsPerRequest, 1)}×` : '–'} | ` +
        `${fmt((100 * r.loadGeneratorCpuSeconds) / r.wallSeconds)} % | ${fmt(r.otherCores, 2)} | ${failures.join(', ') || 'none'} |`,
    );
  }
  return lines.join('\n');
}

/** The aims, each with its verdict; an aim whose scenario was not run is left out. */
function aims(rows: Row[]): string[] {
  const clean = (r: Row) => Object.keys(r.failures).length === 0 && r.reusedTokens === 0;
  const out: string[] = [];
  const check = (label: string, target: Target, op: Operation, aim: number) => {
    const r = rows.find((x) => x.target === target && x.operation === op);
    const b = rows.find((x) => x.target === 'bare' && x.operation === op);
    if (!r || !b) return;
    const ratio = r.perSecond / b.perSecond;
    const verdict = !clean(r) || !clean(b) ? 'not valid (failed requests, see the table)' : ratio >= aim ? 'met' : '**missed**';
    out.push(`- ${label}: ${fmt(100 * ratio)} % of bare throughput (aim ≥ ${100 * aim} %): ${verdict}`);
  };
  check('GetDeployment on SQLite', 'sqlite', 'GetDeployment', 0.5);
  check('GetDeployment on PostgreSQL', 'postgres', 'GetDeployment', 0.5);
  check('CreateDeployment on SQLite', 'sqlite', 'CreateDeployment', 0.25);
  return out;
}

const START = '<!-- bench:results:start (written by `npm run bench`; edit outside this block) -->';
const END = '<!-- bench:results:end -->';

function resultsBlock(rows: Row[], when: Date, pgVersion: string | undefined): string {
  const m = machine();
  let commit = 'unknown';
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    commit = git('rev-parse', '--short', 'HEAD');
    if (git('status', '--porcelain', '--', 'src', 'bin', 'model', 'package.json')) commit += ' plus uncommitted changes to the server';
  } catch {
    // not a git checkout
  }
  return [
    START,
    `## Latest run`,
    '',
    `Run ${when.toISOString().replace(/\.\d+Z$/, 'Z')} on commit ${commit}; ${fmt(WARMUP)} s warm-up then ${fmt(DURATION)} s measured per scenario, ${CONNECTIONS} keep-alive connections.`,
    '',
    `- Machine: ${m.cores} cores (\`nproc\`), ${m.cpu}, ${m.memory} memory`,
    `- ${m.os}; Node ${m.node}${pgVersion ? `; ${pgVersion}` : ''}`,
    '',
    table(rows),
    '',
    ...aims(rows),
    END,
  ].join('\n');
}

const INTRO = `# Benchmarks

\`npm run bench\` (bench/control-plane.ts) measures the two hottest control-plane calls, CreateDeployment and
GetDeployment, against meadow on SQLite and on PostgreSQL, and against a bare \`node:http\` server that answers the
same requests with canned JSON. The bare server is the ceiling: Node parsing HTTP and writing a response, nothing else.

How:
- Each server is a child process (\`node bin/meadow.js serve\`, or \`bench/bare-server.ts\`) on a free port; meadow gets
  a temporary data directory, a fixed access key and, for PostgreSQL, a throwaway database created and dropped around
  the run. The benchmark waits for \`GET /health\`.
- A thing group and two component versions (one depending on the other) are created, and one deployment made,
  through the AWS SDK. GetDeployment reads that deployment;
  CreateDeployment deploys to that group, each request with its own clientToken (as the SDK sends one), so every
  request does the full work: SigV4 check, model validation, idempotency claim, component and dependency checks,
  revision, supersede, insert.
- Requests are SigV4-signed before the run (service \`greengrass\`, \`@smithy/signature-v4\`) and replayed by autocannon
  over keep-alive connections, so the load generator only sends bytes. Its own CPU use is in the table: well below
  100 % of a core it was not the bottleneck. Against the bare server it comes close (both cores are then busy), so
  the bare ceiling is if anything underestimated, which flatters meadow's ratios rather than hurting them.
- Each scenario runs a warm-up, then a measured period. Server CPU per request is the server process's
  utime + stime (\`/proc/<pid>/stat\`, all threads) over the measured period divided by the requests answered. For
  PostgreSQL the database backends' CPU is shown apart.
- Load generator, server and PostgreSQL share the machine's cores, so throughput is only comparable within one
  run on one machine; CPU per request is the steadier number. Before each scenario the benchmark waits (up to
  \`MEADOW_BENCH_QUIET_WAIT\` s) for other work on the machine to stop; "Other CPU" is what the rest of the machine
  still used during the measured period, in cores (part of the kernel's loopback network work is counted there).

Environment knobs are listed at the top of bench/control-plane.ts (e.g. \`MEADOW_BENCH_DURATION=3 MEADOW_BENCH_WARMUP=1\`
for a quick run, \`MEADOW_BENCH_CPU_PROF=dir\` to profile the servers, then \`bench/profile-top.ts\` to summarise a profile).
`;

function writeBenchmarksMd(block: string) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const from = current.indexOf(START);
  const to = current.indexOf(END);
  const next = from >= 0 && to > from ? current.slice(0, from) + block + current.slice(to + END.length) : `${INTRO}\n${block}\n`;
  writeFileSync(file, next);
}

// ---- main --------------------------------------------------------------------------------------------------

async function main() {
  for (const o of OPERATIONS) if (!['CreateDeployment', 'GetDeployment'].includes(o)) throw new Error(`unknown operation '${o}' in MEADOW_BENCH_OPERATIONS`);
  for (const t of TARGETS) if (!['bare', 'sqlite', 'postgres'].includes(t)) throw new Error(`unknown target '${t}' in MEADOW_BENCH_TARGETS`);
  const when = new Date();
  const pgVersion = TARGETS.includes('postgres') ? ((await adminQuery('SHOW server_version')).rows[0].server_version as string) : undefined;
  const rows: Row[] = [];
  for (const target of TARGETS) {
    const running = await start(target);
    try {
      for (const operation of OPERATIONS) {
        process.stderr.write(`${target} ${operation}: preparing, ${fmt(WARMUP)} s warm-up, ${fmt(DURATION)} s measured...\n`);
        rows.push(await measure(target, running, operation));
      }
    } finally {
      await running.cleanup();
    }
  }
  const block = resultsBlock(rows, when, pgVersion && `PostgreSQL ${pgVersion}`);
  process.stdout.write(`\n${table(rows)}\n\n${aims(rows).join('\n')}\n`);
  if (process.env.MEADOW_BENCH_WRITE !== '0') {
    writeBenchmarksMd(block);
    process.stdout.write('\nBENCHMARKS.md updated.\n');
  }
}

await main();
