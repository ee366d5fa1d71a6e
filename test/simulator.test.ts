// `meadow simulate` as a user runs it: a separate process that registers and connects a fleet of simulated core
// devices to a running meadow, answers a deployment at the given fail and reject rates, and ends with a summary that
// must agree with what the server recorded (DescribeJob, ListJobExecutionsForJob, DescribeJobExecution).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { GetCoreDeviceCommand } from '@aws-sdk/client-greengrassv2';
import { DescribeJobExecutionCommand, ListCertificatesCommand, paginateListJobExecutionsForJob } from '@aws-sdk/client-iot';
import { JOB_STATUS_DETAIL } from '../src/core/device-document/index.js';
import type { SimulationSummary } from '../src/simulator/simulate.js';
import { STORE_KINDS } from './helpers/databases.js';
import { newThingGroup, publishComponents } from './helpers/greengrass.js';
import { deployToGroup, processDetails } from './helpers/jobs.js';
import { startTestServer, TEST_CREDENTIALS, type TestServer } from './helpers/server.js';

const BIN = fileURLToPath(new URL('../bin/meadow.js', import.meta.url));
const DEVICES = 20;

interface Run {
  /** Resolves once every device is connected. */
  connected: Promise<void>;
  /** Resolves with the summary the process printed as its last line (--json) when it exits 0. */
  done: Promise<SimulationSummary>;
}

function simulate(s: TestServer, args: string[]): Run {
  const child = spawn(process.execPath, [BIN, 'simulate', '--endpoint', s.endpoint, '--mqtt-endpoint', `127.0.0.1:${s.mqttPort}`, '--json', ...args], {
    env: { PATH: process.env.PATH, MEADOW_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, MEADOW_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let onConnected: () => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
    if (output.includes(`connected ${DEVICES}/${DEVICES} devices`)) onConnected();
  });
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const done = new Promise<SimulationSummary>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`meadow simulate exited with ${code}:\n${output}`));
      resolve(JSON.parse(output.trim().split('\n').at(-1)!) as SimulationSummary);
    });
  });
  done.catch(() => onConnected()); // a failed start ends the wait for connections too; `done` reports it
  return { connected, done };
}

for (const kind of STORE_KINDS) {
  describe(`meadow simulate (${kind})`, () => {
    let s: TestServer;
    let dir: string;

    before(async () => {
      s = await startTestServer(kind);
      dir = mkdtempSync(join(tmpdir(), 'meadow-simulate-'));
      await publishComponents(s, ['com.example.Hello@1.0.0']);
    });
    after(async () => {
      await s?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers a group deployment at the given rates and its summary matches the job the server recorded', async () => {
      const groupName = 'simulated';
      const groupArn = await newThingGroup(s, groupName);
      const cache = join(dir, 'fleet.json');
      const common = ['--devices', String(DEVICES), '--group', groupName, '--devices-per-certificate', '5', '--cache', cache];
      const run = simulate(s, [...common, '--fail-rate', '0.3', '--reject-rate', '0.1', '--apply-ms', '20', '--seed', '42', '--deployments', '1']);
      await run.connected;
      const { jobId } = await deployToGroup(s, groupArn);
      const summary = await run.done;

      const tally = summary.jobs[jobId];
      assert.ok(tally, `the summary names job ${jobId}`);
      assert.equal(tally.received, DEVICES);
      assert.equal(tally.succeeded + tally.failed + tally.rejected, DEVICES);
      assert.ok(tally.failed > 0 && tally.succeeded > 0, `some devices failed and some succeeded: ${JSON.stringify(tally)}`);
      assert.equal(summary.counters.errors, 0);
      assert.equal(summary.counters.connected, DEVICES);

      const details = await processDetails(s, jobId);
      assert.equal(details.numberOfSucceededThings, tally.succeeded);
      assert.equal(details.numberOfFailedThings, tally.failed);
      assert.equal(details.numberOfRejectedThings, tally.rejected);
      const byStatus: Record<string, string[]> = {};
      for await (const page of paginateListJobExecutionsForJob({ client: s.iot }, { jobId })) {
        for (const e of page.executionSummaries ?? []) (byStatus[e.jobExecutionSummary!.status!] ??= []).push(e.thingArn!.split('/').at(-1)!);
      }
      assert.equal(byStatus.SUCCEEDED?.length ?? 0, tally.succeeded);
      assert.equal(byStatus.FAILED?.length ?? 0, tally.failed);
      assert.equal(byStatus.REJECTED?.length ?? 0, tally.rejected);

      // A failed device said what the nucleus says after a rollback, through the shared builders.
      const failed = await s.iot.send(new DescribeJobExecutionCommand({ jobId, thingName: byStatus.FAILED[0] }));
      const sd = failed.execution!.statusDetails!.detailsMap!;
      assert.equal(sd[JOB_STATUS_DETAIL.detailedStatus], 'FAILED_ROLLBACK_COMPLETE');
      assert.deepEqual(JSON.parse(sd[JOB_STATUS_DETAIL.errorStack]), ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN']);
      // Its fleet-status messages made every device a core device.
      const core = await s.gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: byStatus.SUCCEEDED[0] }));
      assert.equal(core.status, 'HEALTHY');
    });

    it('reuses the things and certificates of its cache on the next run; devices that drop come back', async () => {
      const certificatesBefore = (await s.iot.send(new ListCertificatesCommand({ pageSize: 250 }))).certificates!.length;
      const cache = join(dir, 'fleet.json');
      const run = simulate(s, ['--devices', String(DEVICES), '--group', 'simulated', '--devices-per-certificate', '5', '--cache', cache, '--duration', '2',
        '--offline-rate', '0.5', '--offline-ms', '200', '--offline-every-ms', '400']);
      await run.connected;
      const summary = await run.done;
      assert.ok(summary.drops > 0, 'some devices dropped');
      assert.ok(summary.counters.reconnects > 0, 'and came back');
      assert.equal(summary.counters.errors, 0);
      assert.equal((await s.iot.send(new ListCertificatesCommand({ pageSize: 250 }))).certificates!.length, certificatesBefore, 'no new certificate');
    });
  });
}
