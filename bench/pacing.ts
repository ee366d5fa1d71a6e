// Rollout pacing at scale: a deployment with a rollout rate to a group of 10,000 things, run to the end, and the
// notifications counted per minute against what the IoT rate definition gives. The rollout runs on a ManualClock
// (a 1,000/min rollout of 10,000 things takes ten real minutes): the server runs in this process, and the clock is
// moved a second at a time with the rollout worker's tick() after each step, exactly what its timer does in
// production. The notification times are the executions' stored notifiedAt (what the devices are told at).
// Called by bench/fleet.ts; alone: `node --import tsx bench/pacing.ts` (MEADOW_BENCH_DEVICES sets the group size).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateComponentVersionCommand, CreateDeploymentCommand, GreengrassV2Client } from '@aws-sdk/client-greengrassv2';
import { AddThingToThingGroupCommand, CreateThingCommand, CreateThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import { openArtifactStore } from '../src/artifacts/open-artifact-store.js';
import { ManualClock } from '../src/core/clock.js';
import type { RolloutConfig } from '../src/core/jobs/index.js';
import { configFromEnv, type Config } from '../src/config.js';
import { startServer } from '../src/server.js';
import { forEachLimited } from '../src/simulator/device.js';
import { openStore } from '../src/store/open-store.js';
import { commitDescription, machineLines, writeBlock } from './benchmarks-md.js';
import { BENCH_CREDENTIALS } from './server-process.js';

export interface PacingRow {
  name: string;
  config: RolloutConfig;
  things: number;
  /** Notifications per minute since the job started, and what the rate definition allows in each. */
  perMinute: number[];
  expected: number[];
  /** Largest deviation of a minute from its expected count, as a share of the expected count. */
  worstDeviation: number;
  /** Notifications in the busiest 60-second sliding window, against the highest rate. */
  busiestWindow: number;
  minutes: number;
}

const MINUTE = 60_000;

/** Per minute, what IoT's definition allows: the rate for the things notified so far, grown as thresholds pass. */
function expectedSchedule(config: RolloutConfig, things: number): number[] {
  const out: number[] = [];
  let notified = 0;
  while (notified < things) {
    let thisMinute = 0;
    // Within a minute, crossing a numberOfNotifiedThings threshold lets the rest of the minute go at the new rate.
    for (;;) {
      const rate = rateFor(config, notified);
      const room = Math.min(rate - thisMinute, things - notified);
      if (room <= 0) break;
      const every = config.exponentialRate?.rateIncreaseCriteria.numberOfNotifiedThings;
      const untilIncrease = every ? every - (notified % every) : Infinity;
      const step = Math.min(room, untilIncrease);
      thisMinute += step;
      notified += step;
      if (step < untilIncrease) break; // the minute is full at this rate; else the rate just rose: go on at it
    }
    out.push(thisMinute);
  }
  return out;
}

function rateFor(config: RolloutConfig, notified: number): number {
  const e = config.exponentialRate;
  if (!e) return config.maximumPerMinute!;
  const cap = config.maximumPerMinute ?? 1000;
  const k = Math.floor(notified / e.rateIncreaseCriteria.numberOfNotifiedThings!);
  return Math.min(cap, Math.floor(e.baseRatePerMinute * e.incrementFactor ** k));
}

export async function runPacing(things: number, log: (line: string) => void): Promise<PacingRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meadow-bench-pacing-'));
  const clock = new ManualClock(Date.UTC(2026, 3, 1));
  const config: Config = {
    ...configFromEnv({}),
    port: 0,
    mqttPort: 0,
    dataPlanePort: 0,
    dataDir,
    accessKeyId: BENCH_CREDENTIALS.accessKeyId,
    secretAccessKey: BENCH_CREDENTIALS.secretAccessKey,
    logLevel: 'warn',
  };
  const store = await openStore(config);
  const artifacts = await openArtifactStore(config);
  const server = await startServer({ config, store, artifacts, credentials: BENCH_CREDENTIALS, clock, logger: false, rolloutTimer: false });
  const client = { endpoint: server.endpoint, region: config.region, credentials: BENCH_CREDENTIALS, maxAttempts: 3 };
  const iot = new IoTClient(client);
  const gg = new GreengrassV2Client(client);
  const scope = { accountId: config.accountId, region: config.region };
  try {
    await gg.send(
      new CreateComponentVersionCommand({
        inlineRecipe: Buffer.from(
          JSON.stringify({ RecipeFormatVersion: '2020-01-25', ComponentName: 'com.example.Hello', ComponentVersion: '1.0.0', Manifests: [{ Lifecycle: { Run: 'echo hi' } }] }),
        ),
      }),
    );
    const cases: { name: string; config: RolloutConfig }[] = [
      { name: 'maximumPerMinute 1000', config: { maximumPerMinute: 1000 } },
      {
        name: 'exponentialRate base 250, ×2 every 1000 notified, cap 1000',
        config: { maximumPerMinute: 1000, exponentialRate: { baseRatePerMinute: 250, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 1000 } } },
      },
    ];
    const rows: PacingRow[] = [];
    for (const [i, c] of cases.entries()) {
      const group = `pacing-${i}`;
      await iot.send(new CreateThingGroupCommand({ thingGroupName: group }));
      log(`pacing: registering ${things} things in ${group}...`);
      const names = Array.from({ length: things }, (_, j) => `pace-${i}-${String(j).padStart(6, '0')}`);
      await forEachLimited(names, 32, async (thingName) => {
        await iot.send(new CreateThingCommand({ thingName }));
        await iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: group }));
      });
      await server.engine.tick(); // the membership log, consumed before the deployment
      const started = clock.now();
      const d = await gg.send(
        new CreateDeploymentCommand({
          targetArn: `arn:aws:iot:${config.region}:${config.accountId}:thinggroup/${group}`,
          components: { 'com.example.Hello': { componentVersion: '1.0.0' } },
          iotJobConfiguration: { jobExecutionsRolloutConfig: c.config },
        }),
      );
      log(`pacing: ${c.name}: running the rollout on the ManualClock...`);
      for (let s = 0; s < 3600; s++) {
        const p = await store.rolloutProgress(scope, d.iotJobId!, 0);
        if (p.notifiedCount >= things) break;
        clock.advance(1000);
        await server.engine.tick();
      }
      const times = (await store.rolloutProgress(scope, d.iotJobId!, 0)).notificationTimes.sort((a, b) => a - b);
      const perMinute: number[] = [];
      for (const t of times) perMinute[Math.floor((t - started) / MINUTE)] = (perMinute[Math.floor((t - started) / MINUTE)] ?? 0) + 1;
      for (let m = 0; m < perMinute.length; m++) perMinute[m] ??= 0;
      const expected = expectedSchedule(c.config, things);
      const worstDeviation = Math.max(
        ...Array.from({ length: Math.max(perMinute.length, expected.length) }, (_, m) => Math.abs((perMinute[m] ?? 0) - (expected[m] ?? 0)) / Math.max(1, expected[m] ?? 0)),
      );
      let busiestWindow = 0;
      for (let a = 0, b = 0; b < times.length; b++) {
        while (times[b] - times[a] >= MINUTE) a++;
        busiestWindow = Math.max(busiestWindow, b - a + 1);
      }
      rows.push({ name: c.name, config: c.config, things: times.length, perMinute, expected, worstDeviation, busiestWindow, minutes: perMinute.length });
      log(`pacing: ${c.name}: ${JSON.stringify(rows.at(-1))}`);
    }
    return rows;
  } finally {
    iot.destroy();
    gg.destroy();
    await server.close();
    await store.close();
    await artifacts.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const START = '<!-- bench:pacing:start (written by `npm run bench:fleet`; edit outside this block) -->';
const END = '<!-- bench:pacing:end -->';

function table(rows: PacingRow[]): string {
  const lines = [
    '| Rollout config | Things | Minutes | Notified per minute (measured) | Expected per minute | Worst minute off by | Busiest 60 s window | Within 2 % |',
    '|---|---:|---:|---|---|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.things} | ${r.minutes} | ${r.perMinute.join(', ')} | ${r.expected.join(', ')} | ${(100 * r.worstDeviation).toFixed(2)} % | ${r.busiestWindow} | ${r.worstDeviation <= 0.02 ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}

/** Runs the pacing scenarios and writes their block of BENCHMARKS.md (unless MEADOW_BENCH_WRITE=0). */
export async function pacingMain(): Promise<void> {
  const things = Number(process.env.MEADOW_BENCH_DEVICES || 10_000);
  const when = new Date();
  const rows = await runPacing(things, (l) => process.stderr.write(`${l}\n`));
  const block = [
    START,
    '## Rollout pacing at scale: latest run',
    '',
    `Run ${when.toISOString().replace(/\.\d+Z$/, 'Z')} on commit ${commitDescription()}; SQLite, server in the benchmark's process on a ManualClock moved 1 s per rollout tick (a real-clock run would take 10-14 minutes per case); notification times are the executions' stored notifiedAt.`,
    '',
    ...machineLines(),
    '',
    table(rows),
    END,
  ].join('\n');
  process.stdout.write(`\n${table(rows)}\n`);
  if (process.env.MEADOW_BENCH_WRITE !== '0') {
    writeBlock(START, END, block);
    process.stdout.write('\nBENCHMARKS.md updated (pacing).\n');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await pacingMain();
