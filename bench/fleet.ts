// Fleet benchmark: meadow with thousands of connected simulated core devices (src/simulator), on SQLite and on
// PostgreSQL, each server in its own process so its CPU and memory are its own; beside it, in the same run, a bare
// aedes broker moving the same number of MQTT messages to the same number of TLS clients. Prints a table and
// refreshes the fleet block of BENCHMARKS.md. Run: `npm run bench:fleet` (or `npm run bench` for everything).
//
// Scenarios, for each store:
// - Memory: server RSS before and after the fleet connects; the difference per connection.
// - Fan-out: one deployment to the whole group, no rollout limit. From CreateDeployment to every device holding the
//   job (notified), and to every SUCCEEDED accepted (the reply is published after the commit) and seen in
//   DescribeJob. Each device does what a nucleus does: IN_PROGRESS, SUCCEEDED, a fleet-status message.
// - Status ingest: every device sends job-execution updates (IN_PROGRESS with new statusDetails, each waiting for its
//   reply), then fleet-status messages (QoS 1, no reply: measured until the server's CPU goes quiet).
//
// Environment (all optional):
//   MEADOW_BENCH_DEVICES=10000             fleet size
//   MEADOW_BENCH_FLEET_TARGETS=sqlite,bare,postgres   (bare needs identities from a meadow target run before it)
//   MEADOW_BENCH_UPDATES=3 MEADOW_BENCH_FLEET_STATUS=3  messages per device in the ingest scenarios
//   MEADOW_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
//   MEADOW_BENCH_CPU_PROF=dir              run meadow with --cpu-prof, profiles in dir/<target>/
//   MEADOW_BENCH_SERVER_NODE_FLAGS='...'   more node/V8 flags for the meadow server process
//   MEADOW_BENCH_WRITE=0                   do not touch BENCHMARKS.md
//   MEADOW_BENCH_PACING=0                  skip the rollout pacing scenario (bench/pacing.ts)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateComponentVersionCommand, CreateDeploymentCommand, GreengrassV2Client } from '@aws-sdk/client-greengrassv2';
import { CreateThingGroupCommand, DescribeJobCommand, IoTClient } from '@aws-sdk/client-iot';
import mqtt, { type MqttClient } from 'mqtt';
import type { DeploymentJob } from '../src/agent/protocol/jobs-client.js';
import { forEachLimited, runDevices, type Fleet, type ProvisionedDevice, type Respond } from '../src/simulator/device.js';
import { provisionFleet } from '../src/simulator/provision.js';
import { commitDescription, machineLines, ROOT, writeBlock } from './benchmarks-md.js';
import { pacingMain } from './pacing.js';
import { BENCH_CREDENTIALS, freePort, meadowServeEnv, processCpuSeconds, startServerProcess, type ServerProcess } from './server-process.js';
import { adminQuery, createBenchDatabase } from './postgres-admin.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] || fallback);
  if (!(v > 0)) throw new Error(`${name} must be a positive number`);
  return v;
};
const DEVICES = num('MEADOW_BENCH_DEVICES', 10_000);
const TARGETS = (process.env.MEADOW_BENCH_FLEET_TARGETS || 'sqlite,bare,postgres').split(',') as Target[];
const UPDATES = num('MEADOW_BENCH_UPDATES', 3);
const FLEET_STATUS = num('MEADOW_BENCH_FLEET_STATUS', 3);
const CPU_PROF_DIR = process.env.MEADOW_BENCH_CPU_PROF;
const SERVER_NODE_FLAGS = (process.env.MEADOW_BENCH_SERVER_NODE_FLAGS || '').split(' ').filter(Boolean);
const GROUP = 'bench-fleet';
const GROUP_ARN = `arn:aws:iot:us-east-1:123456789012:thinggroup/${GROUP}`;
const RECIPE = {
  RecipeFormatVersion: '2020-01-25',
  ComponentName: 'com.example.Hello',
  ComponentVersion: '1.0.0',
  Manifests: [{ Platform: { os: 'linux' }, Lifecycle: { Run: 'echo hi' } }],
};
const TIMEOUT_MS = 600_000;

type Target = 'bare' | 'sqlite' | 'postgres';

interface FleetRow {
  target: Target;
  devices: number;
  provisionSeconds?: number;
  connectSeconds: number;
  rssIdleMiB: number;
  rssConnectedMiB: number;
  rssPeakMiB: number;
  kibPerConnection: number;
  notifiedSeconds: number;
  succeededSeconds: number;
  /** SUCCEEDED for every device in DescribeJob (meadow only). */
  recordedSeconds?: number;
  /** MQTT messages the devices received and sent during the fan-out, per device. */
  deliveredPerDevice: number;
  publishedPerDevice: number;
  fanoutServerCpuSeconds: number;
  dbCpuSeconds?: number;
  updatesPerSecond?: number;
  cpuUsPerUpdate?: number;
  fleetStatusPerSecond?: number;
  cpuUsPerFleetStatus?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number | undefined, digits = 0) => (n === undefined ? '–' : n.toFixed(digits));

/** Resident set size and its peak, in MiB, from /proc/<pid>/status. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = TIMEOUT_MS, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(everyMs);
  }
}

/** Waits until the process has used (almost) no CPU for `quietMs`; returns when it was last busy. */
async function untilIdle(pid: number, quietMs = 500): Promise<number> {
  let lastBusy = Date.now();
  let cpu = processCpuSeconds(pid);
  for (;;) {
    await sleep(50);
    const now = processCpuSeconds(pid);
    if (now - cpu > 0.01) lastBusy = Date.now();
    cpu = now;
    if (Date.now() - lastBusy >= quietMs) return lastBusy;
  }
}

async function backendCpu(database: string): Promise<number> {
  const { rows } = await adminQuery('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  let total = 0;
  for (const { pid } of rows) {
    try {
      total += processCpuSeconds(pid);
    } catch {
      // the backend just exited
    }
  }
  return total;
}

/** Counts the MQTT publishes a fleet's clients receive and send. */
function countMessages(clients: MqttClient[]) {
  const counts = { delivered: 0, published: 0 };
  for (const c of clients) {
    c.on('message', () => counts.delivered++);
    c.on('packetsend', (p) => {
      if (p.cmd === 'publish') counts.published++;
    });
  }
  return counts;
}

// ---- meadow --------------------------------------------------------------------------------------------------

interface MeadowRun {
  row: FleetRow;
  identities: ProvisionedDevice[];
  caPem: string;
}

async function runMeadow(target: 'sqlite' | 'postgres'): Promise<MeadowRun> {
  const [port, mqttPort, dataPlanePort] = [await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'meadow-bench-fleet-'));
  const db = target === 'postgres' ? await createBenchDatabase() : undefined;
  const database = db?.name;
  const profile = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROF_DIR, target)}`] : [];
  const server: ServerProcess = await startServerProcess(
    [...profile, ...SERVER_NODE_FLAGS, join(ROOT, 'bin/meadow.js'), 'serve'],
    { ...meadowServeEnv({ port, dataDir, databaseUrl: db?.url }), MEADOW_MQTT_PORT: String(mqttPort), MEADOW_DATA_PLANE_PORT: String(dataPlanePort) },
    port,
  );
  const clientConfig = { endpoint: server.endpoint, region: 'us-east-1', credentials: BENCH_CREDENTIALS, maxAttempts: 3 };
  const iot = new IoTClient(clientConfig);
  const gg = new GreengrassV2Client(clientConfig);
  let fleet: Fleet | undefined;
  try {
    await iot.send(new CreateThingGroupCommand({ thingGroupName: GROUP }));
    await gg.send(new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(JSON.stringify(RECIPE)) }));

    log(`${target}: registering ${DEVICES} things (250 per certificate)...`);
    let t = Date.now();
    const names = Array.from({ length: DEVICES }, (_, i) => `bench-${String(i).padStart(6, '0')}`);
    const identities = await provisionFleet({ iot, mqttEndpoint: `127.0.0.1:${mqttPort}` }, names, {
      groupName: GROUP,
      devicesPerCertificate: 250,
      concurrency: 64,
    });
    const provisionSeconds = (Date.now() - t) / 1000;
    await untilIdle(server.pid);
    const idle = memoryOf(server.pid);

    // What every device does with the jobs it receives, by phase.
    let phase: 'fanout' | 'start' = 'fanout';
    const arrived = new Map<string, number>();
    const succeededAt = new Map<string, number>();
    const respond: Respond = async (d, job: DeploymentJob) => {
      if (phase === 'start') return d.report(job.jobId, 'IN_PROGRESS');
      arrived.set(d.thingName, Date.now());
      await d.report(job.jobId, 'IN_PROGRESS');
      const reply = await d.report(job.jobId, 'SUCCEEDED');
      if (reply.accepted) succeededAt.set(d.thingName, Date.now());
      await d.publishFleetStatus('THING_GROUP_DEPLOYMENT', { job, status: 'SUCCEEDED' });
    };

    log(`${target}: connecting ${DEVICES} devices...`);
    t = Date.now();
    fleet = await runDevices(identities, { respond: () => respond, connectConcurrency: 100, mqtt: { reconnectPeriod: 2000, connectTimeout: 60_000, keepalive: 600 } });
    const connectSeconds = (Date.now() - t) / 1000;
    await untilIdle(server.pid);
    const connected = memoryOf(server.pid);

    // ---- fan-out
    log(`${target}: fan-out of one deployment to ${DEVICES} devices...`);
    const counts = countMessages(fleet.devices.map((d) => d.client));
    const cpu0 = server.cpuSeconds();
    const db0 = database ? await backendCpu(database) : undefined;
    const t0 = Date.now();
    const created = await gg.send(new CreateDeploymentCommand({ targetArn: GROUP_ARN, deploymentName: 'fan-out', components: { 'com.example.Hello': { componentVersion: '1.0.0' } } }));
    const jobId = created.iotJobId!;
    await until('every device SUCCEEDED', () => succeededAt.size >= DEVICES);
    let recordedSeconds: number | undefined;
    await until(
      'DescribeJob shows every device SUCCEEDED',
      async () => {
        const d = (await iot.send(new DescribeJobCommand({ jobId }))).job!.jobProcessDetails!;
        if (d.numberOfSucceededThings !== DEVICES) return false;
        recordedSeconds = (Date.now() - t0) / 1000;
        return true;
      },
      TIMEOUT_MS,
      50,
    );
    await until('every fleet-status message sent', () => fleet!.counters.fleetStatusSent >= DEVICES);
    await untilIdle(server.pid);
    const fanoutServerCpuSeconds = server.cpuSeconds() - cpu0;
    const dbCpuSeconds = database && db0 !== undefined ? (await backendCpu(database)) - db0 : undefined;
    const notifiedSeconds = (Math.max(...arrived.values()) - t0) / 1000;
    const succeededSeconds = (Math.max(...succeededAt.values()) - t0) / 1000;
    const deliveredPerDevice = counts.delivered / DEVICES;
    const publishedPerDevice = counts.published / DEVICES;
    if (fleet.errors().length > 0) throw new Error(`${target}: devices failed: ${String(fleet.errors()[0])}`);

    // ---- status ingest: job execution updates
    log(`${target}: status ingest (${UPDATES} job updates per device, then ${FLEET_STATUS} fleet-status messages per device)...`);
    phase = 'start';
    const inProgressBefore = fleet.counters.inProgress;
    const second = await gg.send(new CreateDeploymentCommand({ targetArn: GROUP_ARN, deploymentName: 'ingest', components: { 'com.example.Hello': { componentVersion: '1.0.0' } } }));
    await until('every device IN_PROGRESS on the second job', () => fleet!.counters.inProgress >= inProgressBefore + DEVICES);
    await untilIdle(server.pid);
    let cpu = server.cpuSeconds();
    t = Date.now();
    await forEachLimited(fleet.devices, DEVICES, async (d) => {
      for (let i = 0; i < UPDATES; i++) {
        const reply = await d.jobs.update(second.iotJobId!, 'IN_PROGRESS', { step: String(i) });
        if (!reply.accepted) throw new Error(`update refused: ${reply.code} ${reply.message}`);
      }
    });
    const updateSeconds = (Date.now() - t) / 1000;
    const cpuUsPerUpdate = ((server.cpuSeconds() - cpu) * 1e6) / (DEVICES * UPDATES);

    // ---- status ingest: fleet-status messages (no reply: until the server is quiet again)
    await untilIdle(server.pid);
    cpu = server.cpuSeconds();
    t = Date.now();
    await forEachLimited(fleet.devices, DEVICES, async (d) => {
      for (let i = 0; i < FLEET_STATUS; i++) await d.publishFleetStatus('CADENCE');
    });
    const lastBusy = await untilIdle(server.pid, 1000);
    const fleetStatusSeconds = (lastBusy - t) / 1000;
    const cpuUsPerFleetStatus = ((server.cpuSeconds() - cpu) * 1e6) / (DEVICES * FLEET_STATUS);

    const peak = memoryOf(server.pid).peak;
    return {
      identities,
      caPem: identities[0].caPem,
      row: {
        target,
        devices: DEVICES,
        provisionSeconds,
        connectSeconds,
        rssIdleMiB: idle.rss,
        rssConnectedMiB: connected.rss,
        rssPeakMiB: peak,
        kibPerConnection: ((connected.rss - idle.rss) * 1024) / DEVICES,
        notifiedSeconds,
        succeededSeconds,
        recordedSeconds,
        deliveredPerDevice,
        publishedPerDevice,
        fanoutServerCpuSeconds,
        dbCpuSeconds,
        updatesPerSecond: (DEVICES * UPDATES) / updateSeconds,
        cpuUsPerUpdate,
        fleetStatusPerSecond: (DEVICES * FLEET_STATUS) / fleetStatusSeconds,
        cpuUsPerFleetStatus,
      },
    };
  } finally {
    await fleet?.stop();
    iot.destroy();
    gg.destroy();
    await server.stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- the bare broker -------------------------------------------------------------------------------------------

/**
 * The same clients (meadow's device certificates) against a bare aedes: per client, as many messages received and
 * sent as in meadow's fan-out, with the request/reply round trips done one after another as a device does them.
 */
async function runBare(identities: ProvisionedDevice[], clientCaPem: string, like: FleetRow): Promise<FleetRow> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'meadow-bench-bare-'));
  const caFile = join(dir, 'client-ca.pem');
  writeFileSync(caFile, clientCaPem);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/bare-broker.ts')], {
    env: { ...process.env, BARE_MQTT_PORT: String(port), BARE_CLIENT_CA_FILE: caFile },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const clients: MqttClient[] = [];
  try {
    const caPem = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: { caPem: string }) => resolve(m.caPem));
      child.once('exit', (code) => reject(new Error(`bare broker exited with ${code}`)));
    });
    const pid = child.pid!;
    await untilIdle(pid);
    const idle = memoryOf(pid);

    // Round trips per client (each request answered by one reply), extra sends without reply, and pushes.
    const roundTrips = Math.min(Math.round(like.publishedPerDevice), Math.round(like.deliveredPerDevice) - 1);
    const extraSends = Math.round(like.publishedPerDevice) - roundTrips;
    const pushes = Math.round(like.deliveredPerDevice) - roundTrips;
    let done = 0;
    const finishedAt: number[] = [];
    const notifiedAt: number[] = [];

    log(`bare: connecting ${identities.length} clients...`);
    let t = Date.now();
    await forEachLimited(identities, 100, async (id) => {
      const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
        clientId: id.thingName,
        cert: id.certificatePem,
        key: id.privateKeyPem,
        ca: caPem,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: 60_000,
        keepalive: 600,
      });
      // As many filters as a simulated device subscribes to (the jobs client's five), so memory compares like for like.
      const unused = ['notify', 'next/rejected', 'update/rejected'].map((t) => `bare/${id.thingName}/${t}`);
      await c.subscribeAsync([`bare/${id.thingName}/push`, `bare/${id.thingName}/res`, ...unused], { qos: 1 });
      let pushed = 0;
      let pending: (() => void) | undefined;
      let roundTripsDone = false;
      let finished = false;
      const maybeDone = () => {
        if (!finished && roundTripsDone && pushed === pushes) {
          finished = true;
          done++;
          finishedAt.push(Date.now());
        }
      };
      c.on('message', (topic) => {
        if (topic.endsWith('/res')) {
          pending?.();
          return;
        }
        pushed++;
        if (pushed === 1) {
          notifiedAt.push(Date.now());
          void (async () => {
            for (let i = 0; i < roundTrips; i++) {
              const reply = new Promise<void>((resolve) => (pending = resolve));
              c.publish(`bare/${id.thingName}/req`, '{"status":"IN_PROGRESS","statusDetails":{}}', { qos: 1 });
              await reply;
            }
            for (let i = 0; i < extraSends; i++) await c.publishAsync(`bare/${id.thingName}/status`, 'x'.repeat(600), { qos: 1 });
            roundTripsDone = true;
            maybeDone();
          })();
        } else if (roundTripsDone) maybeDone();
      });
      clients.push(c);
    });
    const connectSeconds = (Date.now() - t) / 1000;
    await untilIdle(pid);
    const connected = memoryOf(pid);

    log(`bare: ${pushes} pushes, ${roundTrips} round trips and ${extraSends} more sends per client...`);
    const counts = countMessages(clients);
    const cpu0 = processCpuSeconds(pid);
    const t0 = Date.now();
    child.send({ push: pushes });
    await until('every bare client done', () => done >= identities.length);
    await untilIdle(pid);
    return {
      target: 'bare',
      devices: identities.length,
      connectSeconds,
      rssIdleMiB: idle.rss,
      rssConnectedMiB: connected.rss,
      rssPeakMiB: memoryOf(pid).peak,
      kibPerConnection: ((connected.rss - idle.rss) * 1024) / identities.length,
      notifiedSeconds: (Math.max(...notifiedAt) - t0) / 1000,
      succeededSeconds: (Math.max(...finishedAt) - t0) / 1000,
      deliveredPerDevice: counts.delivered / identities.length,
      publishedPerDevice: counts.published / identities.length,
      fanoutServerCpuSeconds: processCpuSeconds(pid) - cpu0,
    };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- reporting -------------------------------------------------------------------------------------------------

function tables(rows: FleetRow[]): string {
  const bare = rows.find((r) => r.target === 'bare');
  const lines = [
    '| Server | Devices | Notified (s) | All SUCCEEDED (s) | In DescribeJob (s) | vs bare | Messages in / out per device | Server CPU (s) | PostgreSQL CPU (s) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ratio = bare && r !== bare ? `${fmt(r.succeededSeconds / bare.succeededSeconds, 1)}×` : '–';
    lines.push(
      `| ${r.target} | ${r.devices} | ${fmt(r.notifiedSeconds, 2)} | ${fmt(r.succeededSeconds, 2)} | ${fmt(r.recordedSeconds, 2)} | ${ratio} | ` +
        `${fmt(r.deliveredPerDevice, 1)} / ${fmt(r.publishedPerDevice, 1)} | ${fmt(r.fanoutServerCpuSeconds, 1)} | ${fmt(r.dbCpuSeconds, 1)} |`,
    );
  }
  lines.push(
    '',
    '| Server | RSS idle (MiB) | RSS connected (MiB) | RSS peak (MiB) | KiB per connection | Connect all (s) | Register things (s) | Job updates/s | CPU µs/update | Fleet-status msgs/s | CPU µs/fleet-status |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    lines.push(
      `| ${r.target} | ${fmt(r.rssIdleMiB)} | ${fmt(r.rssConnectedMiB)} | ${fmt(r.rssPeakMiB)} | ${fmt(r.kibPerConnection, 1)} | ${fmt(r.connectSeconds, 1)} | ` +
        `${fmt(r.provisionSeconds, 1)} | ${fmt(r.updatesPerSecond)} | ${fmt(r.cpuUsPerUpdate)} | ${fmt(r.fleetStatusPerSecond)} | ${fmt(r.cpuUsPerFleetStatus)} |`,
    );
  }
  return lines.join('\n');
}

function aims(rows: FleetRow[]): string[] {
  const bare = rows.find((r) => r.target === 'bare');
  const out: string[] = [];
  for (const r of rows) {
    if (r.target === 'bare') continue;
    const name = r.target === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
    out.push(`- ${name}: all ${r.devices} SUCCEEDED in ${fmt(r.succeededSeconds, 1)} s (aim ≤ 15 s): ${verdict(r.succeededSeconds <= 15)}`);
    if (bare) out.push(`- ${name}: ${fmt(r.succeededSeconds / bare.succeededSeconds, 1)}× the bare broker's time (aim ≤ 3×): ${verdict(r.succeededSeconds <= 3 * bare.succeededSeconds)}`);
    out.push(`- ${name}: RSS ${fmt(r.rssConnectedMiB)} MiB with ${r.devices} devices connected (aim < 1024 MiB): ${verdict(r.rssConnectedMiB < 1024)}; peak ${fmt(r.rssPeakMiB)} MiB during the fan-out and the ingest bursts (every device sending at once)`);
  }
  return out;
}

const START = '<!-- bench:fleet:start (written by `npm run bench:fleet`; edit outside this block) -->';
const END = '<!-- bench:fleet:end -->';

function resultsBlock(rows: FleetRow[], when: Date, pgVersion: string | undefined): string {
  return [
    START,
    '## Fleet: latest run',
    '',
    `Run ${when.toISOString().replace(/\.\d+Z$/, 'Z')} on commit ${commitDescription()}; ${DEVICES} simulated devices in one load-generator process, ${UPDATES} job updates and ${FLEET_STATUS} fleet-status messages per device in the ingest scenarios.`,
    '',
    ...machineLines(),
    ...(pgVersion ? [`- ${pgVersion}`] : []),
    '',
    tables(rows),
    '',
    ...aims(rows),
    END,
  ].join('\n');
}

async function main() {
  for (const t of TARGETS) if (!['bare', 'sqlite', 'postgres'].includes(t)) throw new Error(`unknown target '${t}' in MEADOW_BENCH_FLEET_TARGETS`);
  const when = new Date();
  const pgVersion = TARGETS.includes('postgres') ? ((await adminQuery('SHOW server_version')).rows[0].server_version as string) : undefined;
  const rows: FleetRow[] = [];
  let first: MeadowRun | undefined;
  for (const target of TARGETS) {
    if (target === 'bare') {
      if (!first) throw new Error('the bare target runs after a meadow target (it reuses its device certificates)');
      rows.push(await runBare(first.identities, first.caPem, first.row));
    } else {
      const run = await runMeadow(target);
      first ??= run;
      rows.push(run.row);
    }
    log(JSON.stringify(rows.at(-1)));
  }
  const block = resultsBlock(rows, when, pgVersion && `PostgreSQL ${pgVersion}`);
  process.stdout.write(`\n${tables(rows)}\n\n${aims(rows).join('\n')}\n`);
  if (process.env.MEADOW_BENCH_WRITE !== '0') {
    writeBlock(START, END, block);
    process.stdout.write('\nBENCHMARKS.md updated (fleet).\n');
  }
  if (process.env.MEADOW_BENCH_PACING !== '0') await pacingMain();
}

await main();
