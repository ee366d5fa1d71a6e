// `meadow simulate`: a fleet of simulated core devices in one process, for trying a rollout before a real fleet
// sees it. It registers (or reuses) the things, connects them all over MQTT with mutual TLS, and each answers its
// deployments as a nucleus would: IN_PROGRESS, then SUCCEEDED, FAILED or REJECTED at the given rates with the
// nucleus's statusDetails, and a fleet-status message after connecting and after each deployment. A live progress
// line (TTY) or periodic lines (otherwise) show the fleet; a summary ends the run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IoTClient } from '@aws-sdk/client-iot';
import type { DeploymentJob } from '../agent/protocol/jobs-client.js';
import { emptyCounters, runDevices, type FinalStatus, type Fleet, type FleetCounters, type Respond } from './device.js';
import { MAX_THINGS_PER_CERTIFICATE, provisionFleet } from './provision.js';

export interface SimulateOptions {
  devices: number;
  group: string;
  failRate: number;
  rejectRate: number;
  offlineRate: number;
  /** How long a dropping device stays away, and how often (on average) it drops. */
  offlineMs: number;
  offlineEveryMs: number;
  applyMs: number;
  endpoint: string;
  mqttEndpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  prefix: string;
  devicesPerCertificate: number;
  cacheFile: string;
  connectConcurrency: number;
  /** Stop once the fleet has reported this many final statuses per device (0 = run until interrupted). */
  deployments: number;
  /** Stop after this many seconds (0 = no limit). */
  durationSeconds: number;
  json: boolean;
  seed: number;
}

/** Per deployment job: what the devices did with it. */
export interface JobTally {
  received: number;
  succeeded: number;
  failed: number;
  rejected: number;
  /** Final updates the server refused (the execution had been canceled, removed or timed out meanwhile). */
  refused: number;
}

export interface SimulationSummary {
  devices: number;
  group: string;
  seconds: number;
  counters: FleetCounters;
  drops: number;
  jobs: Record<string, JobTally>;
}

const USAGE = `usage: meadow simulate --devices N --group NAME [--fail-rate P] [--reject-rate P] [--apply-ms MS]
    [--offline-rate P] [--offline-ms MS] [--offline-every-ms MS] [--endpoint URL] [--mqtt-endpoint HOST:PORT]
    [--prefix NAME] [--devices-per-certificate K] [--cache FILE] [--connect-concurrency C]
    [--deployments K] [--duration SECONDS] [--seed S] [--json]`;

/** The options of `meadow simulate`, from its arguments and the environment. */
export function simulateOptionsFrom(args: string[], env: NodeJS.ProcessEnv = process.env): SimulateOptions {
  let values: Record<string, string | boolean | undefined>;
  const str = { type: 'string' } as const;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        devices: str,
        group: str,
        'fail-rate': str,
        'reject-rate': str,
        'offline-rate': str,
        'offline-ms': str,
        'offline-every-ms': str,
        'apply-ms': str,
        endpoint: str,
        'mqtt-endpoint': str,
        prefix: str,
        'devices-per-certificate': str,
        cache: str,
        'connect-concurrency': str,
        deployments: str,
        duration: str,
        seed: str,
        json: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  const number = (name: string, fallback: number, min: number, max: number, integer = true) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got '${String(raw)}'\n${USAGE}`);
    }
    return v;
  };
  const rate = (name: string) => number(name, 0, 0, 1, false);
  const devices = number('devices', 0, 1, 1_000_000);
  if (!values.devices || typeof values.group !== 'string' || !values.group) throw new Error(`--devices and --group are required\n${USAGE}`);
  const group = values.group;
  const failRate = rate('fail-rate');
  const rejectRate = rate('reject-rate');
  if (failRate + rejectRate > 1) throw new Error(`--fail-rate and --reject-rate together must not exceed 1\n${USAGE}`);

  const endpoint = String(values.endpoint ?? `http://127.0.0.1:${env.MEADOW_PORT || 8080}`).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`--endpoint must be a URL such as http://127.0.0.1:8080, got '${endpoint}'`);
  }
  const prefix = String(values.prefix ?? `sim-${group}`);
  return {
    devices,
    group,
    failRate,
    rejectRate,
    offlineRate: rate('offline-rate'),
    offlineMs: number('offline-ms', 5_000, 0, 3_600_000),
    offlineEveryMs: number('offline-every-ms', 30_000, 100, 86_400_000),
    applyMs: number('apply-ms', 0, 0, 3_600_000),
    endpoint,
    // Devices reach the broker on the host they reach the control plane at, unless told otherwise.
    mqttEndpoint: String(values['mqtt-endpoint'] ?? `${url.hostname}:${env.MEADOW_MQTT_PORT || 8883}`),
    region: env.MEADOW_REGION || env.AWS_REGION || 'us-east-1',
    credentials: credentialsFrom(env),
    prefix,
    devicesPerCertificate: number('devices-per-certificate', Math.min(100, devices), 1, MAX_THINGS_PER_CERTIFICATE),
    cacheFile: String(values.cache ?? join('.meadow-simulate', `${prefix}.json`)),
    connectConcurrency: number('connect-concurrency', 100, 1, 10_000),
    deployments: number('deployments', 0, 0, 1_000_000),
    durationSeconds: number('duration', 0, 0, 31_536_000, false),
    json: values.json === true,
    seed: number('seed', Date.now() % 2 ** 31, 0, 2 ** 31 - 1),
  };
}

/** Signing credentials: meadow's own variables, the AWS_* ones, or the key the server generated in its data dir. */
function credentialsFrom(env: NodeJS.ProcessEnv): SimulateOptions['credentials'] {
  if (env.MEADOW_ACCESS_KEY_ID && env.MEADOW_SECRET_ACCESS_KEY) return { accessKeyId: env.MEADOW_ACCESS_KEY_ID, secretAccessKey: env.MEADOW_SECRET_ACCESS_KEY };
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  }
  const file = join(env.MEADOW_DATA_DIR || './data', 'credentials.json');
  if (existsSync(file)) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
  }
  throw new Error(`no credentials: set MEADOW_ACCESS_KEY_ID/MEADOW_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or MEADOW_DATA_DIR to the server's data directory (no ${file})`);
}

/** A small seeded generator (mulberry32), so a run's outcomes can be repeated with --seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How each device answers: the outcome drawn at the given rates, the apply time, then a fleet-status message. */
function behaviour(opts: SimulateOptions, random: () => number, tally: (jobId: string) => JobTally): Respond {
  return async (d, job: DeploymentJob) => {
    const t = tally(job.jobId);
    t.received++;
    const r = random();
    const final: FinalStatus = r < opts.rejectRate ? 'REJECTED' : r < opts.rejectRate + opts.failRate ? 'FAILED' : 'SUCCEEDED';
    if (final !== 'REJECTED') {
      await d.report(job.jobId, 'IN_PROGRESS');
      // Devices do not all take the same time: 50 % to 150 % of the apply time.
      if (opts.applyMs > 0) await sleep(opts.applyMs * (0.5 + random()));
    }
    const reply = await d.report(job.jobId, final);
    if (!reply.accepted) {
      t.refused++;
      return;
    }
    t[final === 'SUCCEEDED' ? 'succeeded' : final === 'FAILED' ? 'failed' : 'rejected']++;
    await d.publishFleetStatus('THING_GROUP_DEPLOYMENT', { job, status: final });
  };
}

function progressLine(c: FleetCounters, total: number, drops: number): string {
  return (
    `connected ${c.connected}/${total}  received ${c.received}  in progress ${c.inProgress}  ` +
    `succeeded ${c.succeeded}  failed ${c.failed}  rejected ${c.rejected}` +
    (c.refused ? `  refused ${c.refused}` : '') +
    (drops ? `  drops ${drops}` : '') +
    (c.errors ? `  errors ${c.errors}` : '')
  );
}

export function formatSummary(s: SimulationSummary): string {
  const c = s.counters;
  const lines = [
    `simulated ${s.devices} devices in thing group ${s.group} for ${s.seconds.toFixed(1)} s`,
    `  connected at the end ${c.connected}, reconnects ${c.reconnects}, drops ${s.drops}`,
    `  deployments received ${c.received}: succeeded ${c.succeeded}, failed ${c.failed}, rejected ${c.rejected}, refused by the server ${c.refused}`,
    `  fleet-status messages ${c.fleetStatusSent}, errors ${c.errors}`,
  ];
  for (const [jobId, t] of Object.entries(s.jobs)) {
    lines.push(`  job ${jobId}: received ${t.received}, succeeded ${t.succeeded}, failed ${t.failed}, rejected ${t.rejected}, refused ${t.refused}`);
  }
  return lines.join('\n') + '\n';
}

/** Runs a simulation until it is told to stop (or its --deployments / --duration end it); returns the summary. */
export async function runSimulation(opts: SimulateOptions, out: NodeJS.WriteStream = process.stdout, stopSignal?: Promise<unknown>): Promise<SimulationSummary> {
  const started = Date.now();
  const tty = out.isTTY === true;
  const say = (line: string) => out.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  const random = seededRandom(opts.seed);
  const counters = emptyCounters();
  const jobs: Record<string, JobTally> = {};
  const tally = (jobId: string) => (jobs[jobId] ??= { received: 0, succeeded: 0, failed: 0, rejected: 0, refused: 0 });
  let drops = 0;

  const iot = new IoTClient({ endpoint: opts.endpoint, region: opts.region, credentials: opts.credentials, maxAttempts: 5 });
  const names = Array.from({ length: opts.devices }, (_, i) => `${opts.prefix}-${String(i).padStart(String(opts.devices - 1).length, '0')}`);
  let lastSaid = 0;
  const identities = await provisionFleet({ iot, mqttEndpoint: opts.mqttEndpoint }, names, {
    groupName: opts.group,
    devicesPerCertificate: opts.devicesPerCertificate,
    cacheFile: opts.cacheFile,
    onProgress: (done, total) => {
      if (Date.now() - lastSaid < (tty ? 200 : 5000) && done < total) return;
      lastSaid = Date.now();
      say(`registering things ${done}/${total}`);
    },
  });
  iot.destroy();
  if (!tty) say(`registered ${identities.length} things in thing group ${opts.group} (identities in ${opts.cacheFile})`);

  const ticker = setInterval(() => say(progressLine(counters, opts.devices, drops)), tty ? 250 : 5000);
  const timers: NodeJS.Timeout[] = [];
  let fleet: Fleet | undefined;
  let atEnd = counters;
  try {
    fleet = await runDevices(identities, {
      respond: () => behaviour(opts, random, tally),
      // Reconnects spread over 1-3 s, so a restarted server is not met by the whole fleet at once.
      mqtt: { reconnectPeriod: 1000 + Math.floor(random() * 2000), connectTimeout: 30_000 },
      connectConcurrency: opts.connectConcurrency,
      fleetStatusOnConnect: true,
      counters,
    });
    if (!tty) say(`connected ${counters.connected}/${opts.devices} devices`);
    if (opts.offlineRate > 0) {
      for (const d of fleet.devices) {
        if (random() >= opts.offlineRate) continue;
        const dropLater = () => {
          const t = setTimeout(() => {
            drops++;
            d.dropFor(opts.offlineMs);
            dropLater();
          }, opts.offlineEveryMs * (0.5 + random()));
          timers.push(t);
        };
        dropLater();
      }
    }
    await new Promise<void>((resolve) => {
      void stopSignal?.then(() => resolve());
      if (opts.durationSeconds > 0) timers.push(setTimeout(resolve, opts.durationSeconds * 1000));
      if (opts.deployments > 0) {
        const target = opts.deployments * opts.devices;
        const check = setInterval(() => {
          if (counters.succeeded + counters.failed + counters.rejected + counters.refused >= target) resolve();
        }, 50);
        timers.push(check);
      }
    });
  } finally {
    clearInterval(ticker);
    for (const t of timers) clearTimeout(t);
    atEnd = { ...counters };
    await fleet?.stop();
  }
  if (tty) out.write('\n');
  return { devices: opts.devices, group: opts.group, seconds: (Date.now() - started) / 1000, counters: atEnd, drops, jobs };
}

/** `meadow simulate ...` */
export async function simulate(args: string[]): Promise<void> {
  const opts = simulateOptionsFrom(args);
  const stop = new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const summary = await runSimulation(opts, process.stdout, stop);
  process.stdout.write(opts.json ? JSON.stringify(summary) + '\n' : formatSummary(summary));
  process.exit(0);
}
