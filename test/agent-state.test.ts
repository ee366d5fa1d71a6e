// The agent's durable state (atomic multi-document commits, checked by kill -9 of a writer at random moments) and its
// status reporting: the job-update, shadow and fleet-status builders (read back with the server's own readers), the
// durable outbox over a scripted transport, and one end-to-end run through a real meadow server's MQTT broker.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  GetCoreDeviceCommand,
  ListCoreDevicesCommand,
  ListEffectiveDeploymentsCommand,
  ListInstalledComponentsCommand,
  type InstalledComponent,
} from '@aws-sdk/client-greengrassv2';
import type { MqttClient } from 'mqtt';
import { Outbox, type StatusTransport, deploymentShadowReport, fleetStatusMessages, jobExecutionUpdate } from '../src/agent/reporting/index.js';
import { StateStore, StateError, type AgentState, type DeploymentInProgress } from '../src/agent/state/index.js';
import { connectDevice } from '../src/agent/protocol/connect.js';
import { ManualClock } from '../src/core/clock.js';
import { configValue, serializeTree, treeFromValue, mergeIntoTree } from '../src/core/configuration/index.js';
import {
  JOB_STATUS_DETAIL,
  fromJobStatusDetails,
  outcomeFromShadowReported,
  toJobStatusDetails,
  type DeploymentOutcome,
} from '../src/core/device-document/index.js';
import {
  FLEET_STATUS_MAX_BYTES,
  buildFleetStatusPayloads,
  componentsUpdateOf,
  parseFleetStatus,
  type ComponentState,
  type FleetStatusInput,
  type ReportedComponent,
} from '../src/core/fleet-status/index.js';
import { statusDetailsViolations } from '../src/core/jobs/index.js';
import { STORE_KINDS } from './helpers/databases.js';
import { endpointOf, eventually, provisionDevices } from './helpers/devices.js';
import { ACCOUNT, REGION, newThingGroup, publishComponents, uniqueName } from './helpers/greengrass.js';
import { deployToGroup } from './helpers/jobs.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meadow-agent-state-'));
  tempDirs.push(dir);
  return dir;
}
after(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const FAILED_ROLLBACK: DeploymentOutcome = {
  detailedStatus: 'FAILED_ROLLBACK_COMPLETE',
  failureCause: 'com.example.Hello broke\nduring startup',
  errorStack: ['COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'],
  errorTypes: ['USER_COMPONENT_ERROR'],
};

describe('agent state store', () => {
  it('starts empty, and a commit survives reopening: targets, configuration trees, the deployment with its snapshot', async () => {
    const dir = tempDir();
    const store = await StateStore.open(dir);
    assert.deepEqual(store.snapshot(), { targets: {}, components: {}, deployment: null, fleetStatusSequence: 0, lastProcessedJob: null, outbox: [] });

    let config = treeFromValue({ Greeting: 'hi', nested: { List: [1, 2] } }, 1000);
    config = mergeIntoTree(config, { greeting: 'older write loses' }, 500);
    const deployment: DeploymentInProgress = {
      id: 'dep-1',
      source: { kind: 'job', jobId: 'job-1', queuedAt: 1700000000 },
      document: { deploymentId: 'dep-1', components: { A: { version: '1.0.0' } } },
      stage: 'ACTIVATING',
      snapshot: {
        components: { A: { version: '0.9.0', configuration: treeFromValue({ old: true }, 10) } },
        targets: { 'thinggroup/G': { components: { A: '0.9.0' }, configurationArn: 'arn:g:1', timestamp: 10 } },
        running: ['A'],
      },
    };
    await store.commit({
      targets: {
        'thinggroup/G': { components: { A: '1.0.0' }, configurationArn: 'arn:g:2', timestamp: 2000 },
        'thing/Me': { components: { B: '2.0.0' }, configurationArn: 'arn:t:1', timestamp: 1500 },
      },
      components: { A: { version: '1.0.0', configuration: config, runWith: { posixUser: 'app:app', systemResourceLimits: { memory: 1024 } } } },
      deployment,
      lastProcessedJob: { queuedAt: 1700000000, jobId: 'job-1' },
    });

    const again = await StateStore.open(dir);
    const state = again.snapshot();
    assert.deepEqual(state.targets['thing/Me'], { components: { B: '2.0.0' }, configurationArn: 'arn:t:1', timestamp: 1500 });
    assert.deepEqual(configValue(state.components.A.configuration), { Greeting: 'hi', nested: { List: [1, 2] } });
    assert.deepEqual(serializeTree(state.components.A.configuration), serializeTree(config), 'timestamps and key spellings are kept');
    assert.deepEqual(state.components.A.runWith, { posixUser: 'app:app', systemResourceLimits: { memory: 1024 } });
    assert.equal(state.deployment?.stage, 'ACTIVATING');
    assert.deepEqual(configValue(state.deployment!.snapshot!.components.A.configuration), { old: true });
    assert.deepEqual(state.deployment!.snapshot!.running, ['A']);
    assert.deepEqual(state.deployment!.document, deployment.document);
    assert.deepEqual(state.lastProcessedJob, { queuedAt: 1700000000, jobId: 'job-1' });
  });

  it('get() returns copies; a function commit sees the state as committed before it', async () => {
    const store = await StateStore.open(tempDir());
    await store.commit({ targets: { 'thinggroup/G': { components: { A: '1.0.0' }, configurationArn: 'arn', timestamp: 1 } } });
    const targets = store.get('targets');
    targets['thinggroup/G'].components.A = 'changed';
    assert.equal(store.get('targets')['thinggroup/G'].components.A, '1.0.0');

    // Concurrent read-modify-write commits do not lose each other's increments.
    await Promise.all(Array.from({ length: 20 }, () => store.commit((s) => ({ fleetStatusSequence: s.fleetStatusSequence + 1 }))));
    assert.equal(store.get('fleetStatusSequence'), 20);
  });

  it('only the manifest and the current document files remain; leftovers of an interrupted commit are removed at open', async () => {
    const dir = tempDir();
    const store = await StateStore.open(dir);
    for (let i = 1; i <= 5; i++) await store.commit({ fleetStatusSequence: i, lastProcessedJob: { queuedAt: i, jobId: `j${i}` } });
    assert.deepEqual(readdirSync(dir).sort(), ['fleetStatusSequence.5.json', 'lastProcessedJob.5.json', 'manifest.json']);
    // What a commit killed before its manifest rename leaves: new document files and a temporary manifest.
    writeFileSync(join(dir, 'fleetStatusSequence.6.json'), '99');
    writeFileSync(join(dir, 'manifest.json.abc123.tmp'), '{"half');
    const reopened = await StateStore.open(dir);
    assert.equal(reopened.get('fleetStatusSequence'), 5);
    assert.deepEqual(readdirSync(dir).sort(), ['fleetStatusSequence.5.json', 'lastProcessedJob.5.json', 'manifest.json']);
    await reopened.commit({ fleetStatusSequence: 6 });
    assert.equal((await StateStore.open(dir)).get('fleetStatusSequence'), 6);
  });

  it('a damaged state is refused with a clear error naming the file', async () => {
    const dir = tempDir();
    const store = await StateStore.open(dir);
    await store.commit({ lastProcessedJob: { queuedAt: 1, jobId: 'j' } });
    writeFileSync(join(dir, 'lastProcessedJob.1.json'), '{"queuedAt":"soon"}');
    await assert.rejects(StateStore.open(dir), (e: Error) => e instanceof StateError && /lastProcessedJob\.1\.json.*queuedAt is not an integer/.test(e.message));
    writeFileSync(join(dir, 'manifest.json'), 'not json');
    await assert.rejects(StateStore.open(dir), (e: Error) => e instanceof StateError && /manifest\.json is not JSON/.test(e.message));
  });

  it('kill -9 at random moments of a writer leaves every document of one commit, old or new, never torn or mixed', async () => {
    const dir = tempDir();
    const writer = join(import.meta.dirname, 'helpers', 'agent-state-writer.ts');
    let lastAcknowledged = 0;
    for (let round = 0; round < 12; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let acknowledged = 0;
      let output = '';
      const firstCommit = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const lines = output.split('\n');
          output = lines.pop()!;
          if (lines.length > 0) acknowledged = Number(lines.at(-1));
          resolve();
        });
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await firstCommit;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      child.kill('SIGKILL');
      await exited;

      const state = (await StateStore.open(dir)).snapshot();
      const n = state.fleetStatusSequence;
      assert.ok(n >= acknowledged && n >= lastAcknowledged, `commit ${acknowledged} resolved before the kill, the state shows ${n}`);
      assert.deepEqual(state.targets, { 'thinggroup/G': { components: { A: `1.0.${n}` }, configurationArn: `arn:g:${n}`, timestamp: n } });
      assert.equal(state.components.A.version, `1.0.${n}`);
      const value = configValue(state.components.A.configuration) as { n: number; big: Record<string, { n: number }> };
      assert.equal(value.n, n);
      assert.equal(Object.keys(value.big).length, 300);
      assert.ok(Object.values(value.big).every((v) => v.n === n));
      assert.deepEqual(state.lastProcessedJob, { queuedAt: n, jobId: `job-${n}` });
      lastAcknowledged = n;
    }
    assert.ok(lastAcknowledged > 12, 'the writers made progress across restarts');
  });
});

describe('agent reporting: builders', () => {
  it('job updates: IN_PROGRESS with empty details, then the outcome with the nucleus keys, read back by the server', () => {
    const started = jobExecutionUpdate('Core1', 'job-1', 'IN_PROGRESS');
    assert.equal(started.topic, '$aws/things/Core1/jobs/job-1/namespace-aws-gg-deployment/update');
    assert.deepEqual(JSON.parse(started.payload), { status: 'IN_PROGRESS', statusDetails: {}, jobId: 'job-1', thingName: 'Core1' });

    const failed = JSON.parse(jobExecutionUpdate('Core1', 'job-1', FAILED_ROLLBACK, 'token-1').payload);
    assert.equal(failed.status, 'FAILED');
    assert.equal(failed.clientToken, 'token-1');
    assert.deepEqual(failed.statusDetails, {
      'detailed-deployment-status': 'FAILED_ROLLBACK_COMPLETE',
      'deployment-failure-cause': 'com.example.Hello broke during startup',
      'deployment-error-stack': '["DEPLOYMENT_FAILURE","COMPONENT_UPDATE_ERROR","COMPONENT_BROKEN"]',
      'deployment-error-types': '["USER_COMPONENT_ERROR"]',
    });
    assert.deepEqual(statusDetailsViolations(failed.statusDetails), [], 'AWS IoT takes the details as they are');
    assert.deepEqual(fromJobStatusDetails(failed.statusDetails), {
      reason: 'FAILED_ROLLBACK_COMPLETE',
      failureCause: 'com.example.Hello broke during startup',
      statusDetails: { errorStack: ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'], errorTypes: ['USER_COMPONENT_ERROR'] },
    });

    const ok = JSON.parse(jobExecutionUpdate('Core1', 'job-2', { detailedStatus: 'SUCCESSFUL' }).payload);
    assert.equal(ok.status, 'SUCCEEDED');
    assert.deepEqual(ok.statusDetails, { 'detailed-deployment-status': 'SUCCESSFUL' });

    const stale = JSON.parse(jobExecutionUpdate('Core1', 'job-3', { detailedStatus: 'REJECTED', errorStack: ['REJECTED_STALE_DEPLOYMENT'], errorTypes: ['REQUEST_ERROR'] }).payload);
    assert.equal(stale.status, 'REJECTED');
    assert.equal(stale.statusDetails['deployment-error-stack'], '["DEPLOYMENT_REJECTED","REJECTED_STALE_DEPLOYMENT"]');

    for (const detailedStatus of ['FAILED_NO_STATE_CHANGE', 'FAILED_ROLLBACK_NOT_REQUESTED', 'FAILED_UNABLE_TO_ROLLBACK'] as const) {
      assert.equal(JSON.parse(jobExecutionUpdate('C', 'j', { detailedStatus }).payload).status, 'FAILED', detailedStatus);
    }
  });

  it('every statusDetails value is cut to 1,024 characters (code points), the error stack still led by DEPLOYMENT_FAILURE', () => {
    const long: DeploymentOutcome = {
      detailedStatus: 'FAILED_NO_STATE_CHANGE',
      failureCause: '🙂'.repeat(2000),
      errorStack: ['DEPLOYMENT_FAILURE', ...Array.from({ length: 200 }, (_, i) => `CODE_${i}`)],
      errorTypes: Array.from({ length: 200 }, () => 'DEVICE_ERROR'),
    };
    const details = toJobStatusDetails(long);
    assert.equal(Array.from(details[JOB_STATUS_DETAIL.failureCause]).length, 1024);
    assert.equal(details[JOB_STATUS_DETAIL.failureCause], '🙂'.repeat(1024), 'no surrogate pair is split');
    for (const key of [JOB_STATUS_DETAIL.errorStack, JOB_STATUS_DETAIL.errorTypes]) assert.equal(details[key].length, 1024, key);
    assert.ok(details[JOB_STATUS_DETAIL.errorStack].startsWith('["DEPLOYMENT_FAILURE","CODE_0",'), 'DEPLOYMENT_FAILURE appears once, first');
    assert.deepEqual(statusDetailsViolations(details), []);
    // A cut list is no longer JSON: the server shows no codes rather than half of them, as for the nucleus.
    assert.deepEqual(fromJobStatusDetails(details).statusDetails, { errorStack: [], errorTypes: [] });
  });

  it('deployment shadow reports read back as the server reads them; success shows as COMPLETED', () => {
    const arn = `arn:aws:greengrass:${REGION}:${ACCOUNT}:configuration:thing/Core1:3`;
    const report = deploymentShadowReport('Core1', arn, '2.12.0', FAILED_ROLLBACK, { version: 7, clientToken: 'c1' });
    assert.equal(report.topic, '$aws/things/Core1/shadow/name/AWSManagedGreengrassV2Deployment/update');
    const body = JSON.parse(report.payload);
    assert.equal(body.version, 7);
    assert.equal(body.clientToken, 'c1');
    assert.deepEqual(body.state.reported, {
      fleetConfigurationArnForStatus: arn,
      status: 'FAILED',
      statusDetails: {
        detailedStatus: 'FAILED_ROLLBACK_COMPLETE',
        failureCause: 'com.example.Hello broke\nduring startup',
        errorStack: ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'],
        errorTypes: ['USER_COMPONENT_ERROR'],
      },
      ggcVersion: '2.12.0',
    });
    const read = outcomeFromShadowReported(body.state.reported)!;
    assert.equal(read.coreDeviceExecutionStatus, 'FAILED');
    assert.equal(read.reason, 'FAILED_ROLLBACK_COMPLETE');
    assert.deepEqual(read.statusDetails.errorStack, ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN']);

    const done = JSON.parse(deploymentShadowReport('Core1', arn, '2.12.0', { detailedStatus: 'SUCCESSFUL' }).payload).state.reported;
    assert.deepEqual(done.statusDetails, { detailedStatus: 'SUCCESSFUL', errorStack: [], errorTypes: [] });
    assert.equal(outcomeFromShadowReported(done)?.coreDeviceExecutionStatus, 'COMPLETED');
    for (const status of ['IN_PROGRESS', 'CANCELED'] as const) {
      const r = JSON.parse(deploymentShadowReport('Core1', arn, '2.12.0', status).payload).state.reported;
      assert.deepEqual(r, { fleetConfigurationArnForStatus: arn, status, ggcVersion: '2.12.0' });
      assert.equal(outcomeFromShadowReported(r)?.coreDeviceExecutionStatus, status);
    }
  });

  const header = (fields: Partial<FleetStatusInput> = {}): FleetStatusInput => ({
    thing: 'Core1',
    ggcVersion: '2.12.0',
    platform: 'linux',
    architecture: 'amd64',
    sequenceNumber: 4,
    timestamp: 1700000000000,
    trigger: 'NUCLEUS_LAUNCH',
    components: [],
    ...fields,
  });
  const state = (componentName: string, status: ComponentState['status'] = 'RUNNING', extra: Partial<ComponentState> = {}): ComponentState => ({
    componentName,
    version: '1.0.0',
    status,
    isRoot: true,
    fleetConfigArns: ['arn:aws:greengrass:us-east-1:123456789012:configuration:thinggroup/G:1'],
    ...extra,
  });

  it('fleet status: COMPLETE or PARTIAL by trigger, UNHEALTHY iff something is BROKEN, error details only when ERRORED/BROKEN', () => {
    const complete = JSON.parse(buildFleetStatusPayloads(header({ components: [state('A'), state('B', 'ERRORED', { statusCodes: ['RUN_ERROR'], statusReason: 'exit 1' })] }))[0]);
    assert.equal(complete.messageType, 'COMPLETE');
    assert.equal(complete.overallDeviceStatus, 'HEALTHY', 'ERRORED is not BROKEN');
    assert.equal(complete.chunkInfo, undefined);
    assert.equal(complete.components[0].componentStatusDetails, undefined);
    assert.deepEqual(complete.components[1].componentStatusDetails, { statusCodes: ['RUN_ERROR'], statusReason: 'exit 1' });
    for (const trigger of ['CADENCE', 'NETWORK_RECONFIGURE'] as const) assert.equal(JSON.parse(buildFleetStatusPayloads(header({ trigger }))[0]).messageType, 'COMPLETE');
    for (const trigger of ['THING_GROUP_DEPLOYMENT', 'THING_DEPLOYMENT', 'LOCAL_DEPLOYMENT', 'COMPONENT_STATUS_CHANGE', 'RECONNECT'] as const) {
      assert.equal(JSON.parse(buildFleetStatusPayloads(header({ trigger }))[0]).messageType, 'PARTIAL', trigger);
    }

    // A PARTIAL message about one healthy component is still UNHEALTHY when another one is BROKEN.
    const broken = state('C', 'BROKEN', { statusCodes: ['STARTUP_ERROR'] });
    const partial = JSON.parse(
      buildFleetStatusPayloads(
        header({
          trigger: 'THING_GROUP_DEPLOYMENT',
          components: [state('A')],
          deploymentInformation: {
            status: 'FAILED',
            deploymentId: 'dep-1',
            fleetConfigurationArnForStatus: 'arn:aws:greengrass:us-east-1:123456789012:configuration:thinggroup/G:2',
            outcome: FAILED_ROLLBACK,
            unchangedRootComponents: ['A'],
          },
        }),
        [state('A'), broken],
      )[0],
    );
    assert.equal(partial.overallDeviceStatus, 'UNHEALTHY');
    assert.deepEqual(partial.deploymentInformation.statusDetails.errorStack, ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN']);
    const parsed = parseFleetStatus(JSON.stringify(partial), 'Core1');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.message.deploymentInformation, {
      status: 'FAILED',
      deploymentId: 'dep-1',
      fleetConfigurationArnForStatus: 'arn:aws:greengrass:us-east-1:123456789012:configuration:thinggroup/G:2',
      unchangedRootComponents: ['A'],
    });
    assert.equal(JSON.parse(buildFleetStatusPayloads(header({ components: [broken] }))[0]).overallDeviceStatus, 'UNHEALTHY');
  });

  it('fleet status: a message over 128,000 bytes is split into chunks that each fit and together list every component', () => {
    const components = Array.from({ length: 900 }, (_, i) => state(`com.example.${'Long'.repeat(55)}.${String(i).padStart(4, '0')}`));
    const payloads = buildFleetStatusPayloads(header({ components }));
    assert.ok(payloads.length >= 3, `${payloads.length} chunks`);
    const chunks = new Map<number, ReportedComponent[]>();
    payloads.forEach((p, i) => {
      assert.ok(Buffer.byteLength(p) <= FLEET_STATUS_MAX_BYTES, `chunk ${i} is ${Buffer.byteLength(p)} bytes`);
      const parsed = parseFleetStatus(p, 'Core1');
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
      assert.deepEqual(parsed.message.chunk, { chunkId: i, totalChunks: payloads.length });
      assert.equal(parsed.message.sequenceNumber, 4, 'the chunks of one message share its sequence number');
      chunks.set(i, parsed.message.components);
    });
    const first = parseFleetStatus(payloads[0], 'Core1');
    assert.ok(first.ok);
    const update = componentsUpdateOf(first.message, chunks);
    assert.equal(update.mode, 'replace');
    assert.deepEqual(update.mode === 'replace' && update.components.map((c) => c.componentName), components.map((c) => c.componentName));

    // Tight limits: every chunk at most the limit (one component per chunk when that is all that fits).
    const small = buildFleetStatusPayloads(header({ components: components.slice(0, 5) }), undefined, 1000);
    assert.equal(small.length, 5);
    assert.ok(small.every((p) => Buffer.byteLength(p) <= 1000));
  });
});

/** A transport whose answers the test scripts; records what was published. */
class ScriptedTransport implements StatusTransport {
  online = false;
  rejectTopics = new Set<string>();
  readonly sent: { topic: string; payload: string }[] = [];
  async publishAndWait(topic: string, payload: string) {
    if (!this.online) return 'offline' as const;
    this.sent.push({ topic, payload });
    return this.rejectTopics.has(topic) ? ('rejected' as const) : ('accepted' as const);
  }
}

describe('agent reporting: outbox', () => {
  it('keeps updates made offline across a restart and sends them in order once connected; a rejected one is dropped', async () => {
    const dir = tempDir();
    const transport = new ScriptedTransport();
    const outbox = new Outbox(await StateStore.open(dir), transport);
    await outbox.enqueue([jobExecutionUpdate('Core1', 'job-1', 'IN_PROGRESS')]);
    await outbox.enqueue([jobExecutionUpdate('Core1', 'job-1', { detailedStatus: 'SUCCESSFUL' })], { lastProcessedJob: { queuedAt: 5, jobId: 'job-1' } });
    await outbox.enqueue([jobExecutionUpdate('Core1', 'job-2', FAILED_ROLLBACK)]);
    assert.equal(await outbox.flush(), 'offline');
    assert.equal(outbox.pending().length, 3);

    // The agent restarts: a new store and outbox over the same directory.
    const store = await StateStore.open(dir);
    assert.deepEqual(store.get('lastProcessedJob'), { queuedAt: 5, jobId: 'job-1' }, 'committed with the update it goes with');
    const rejected: string[] = [];
    const restarted = new Outbox(store, transport, { onRejected: (e) => rejected.push(e.topic) });
    transport.online = true;
    transport.rejectTopics.add(jobExecutionUpdate('Core1', 'job-2', 'IN_PROGRESS').topic);
    assert.equal(await restarted.flush(), 'empty');
    assert.deepEqual(
      transport.sent.map((m) => [m.topic.split('/')[4], JSON.parse(m.payload).status]),
      [
        ['job-1', 'IN_PROGRESS'],
        ['job-1', 'SUCCEEDED'],
        ['job-2', 'FAILED'],
      ],
    );
    assert.deepEqual(rejected, ['$aws/things/Core1/jobs/job-2/namespace-aws-gg-deployment/update']);
    assert.deepEqual(restarted.pending(), []);
    assert.deepEqual((await StateStore.open(dir)).get('outbox'), [], 'sent and dropped updates are gone from disk too');
  });

  it('going offline mid-queue stops there and keeps the rest in order; a throwing transport counts as offline', async () => {
    const store = await StateStore.open(tempDir());
    let calls = 0;
    const sent: string[] = [];
    const errors: unknown[] = [];
    const transport: StatusTransport = {
      async publishAndWait(_topic, payload) {
        calls++;
        if (calls === 2) return 'offline';
        if (calls === 3) throw new Error('socket closed');
        sent.push(JSON.parse(payload).jobId);
        return 'accepted';
      },
    };
    const outbox = new Outbox(store, transport, { onError: (_e, err) => errors.push(err) });
    await store.commit({}); // nothing to write: a no-op
    await outbox.enqueue(['a', 'b', 'c'].map((id) => jobExecutionUpdate('Core1', id, 'IN_PROGRESS')));
    // enqueue started a send pass ('a' sent, then offline); flush waits for it and runs one more (which throws).
    assert.equal(await outbox.flush(), 'offline');
    assert.equal(calls, 3);
    assert.deepEqual(sent, ['a']);
    assert.equal(errors.length, 1);
    assert.deepEqual(outbox.pending().map((e) => JSON.parse(e.payload).jobId), ['b', 'c']);
    assert.equal(await outbox.flush(), 'empty');
    assert.deepEqual(sent, ['a', 'b', 'c']);
    assert.equal(calls, 5);
  });

  it('fleet-status messages take the next persisted sequence number, one per message, shared by its chunks', async () => {
    const dir = tempDir();
    const transport = new ScriptedTransport();
    const outbox = new Outbox(await StateStore.open(dir), transport);
    const input = { thing: 'Core1', ggcVersion: '2.12.0', platform: 'linux', architecture: 'amd64', timestamp: 1, trigger: 'NUCLEUS_LAUNCH' as const, components: [] };
    await outbox.enqueueFleetStatus(input);
    await outbox.enqueueFleetStatus({ ...input, trigger: 'RECONNECT' });
    const reopened = new Outbox(await StateStore.open(dir), transport);
    const many = Array.from({ length: 600 }, (_, i) => ({ componentName: `c.${'x'.repeat(200)}.${i}`, version: '1.0.0', status: 'RUNNING' as const, isRoot: true, fleetConfigArns: [] }));
    await reopened.enqueueFleetStatus({ ...input, components: many });
    transport.online = true;
    assert.equal(await reopened.flush(), 'empty');
    const seqs = transport.sent.map((m) => JSON.parse(m.payload).sequenceNumber);
    assert.ok(seqs.length >= 4, 'the last message went out in chunks');
    assert.deepEqual(seqs.slice(0, 2), [1, 2]);
    assert.ok(seqs.slice(2).every((n) => n === 3));
    assert.ok(transport.sent.every((m) => m.topic === '$aws/things/Core1/greengrassv2/health/json'));
  });
});

/** publishAndWait over a real MQTT connection: PUBACK for health messages, the accepted/rejected reply otherwise. */
class MqttTransport implements StatusTransport {
  constructor(private readonly client: () => MqttClient | undefined) {}
  async publishAndWait(topic: string, payload: string): Promise<'accepted' | 'rejected' | 'offline'> {
    const c = this.client();
    if (!c?.connected) return 'offline';
    if (topic.endsWith('/greengrassv2/health/json')) {
      await c.publishAsync(topic, payload, { qos: 1 });
      return 'accepted';
    }
    const token = JSON.parse(payload).clientToken as string;
    const replies = [`${topic}/accepted`, `${topic}/rejected`];
    const reply = new Promise<'accepted' | 'rejected'>((resolve) => {
      const onMessage = (t: string, raw: Buffer) => {
        if (!replies.includes(t) || JSON.parse(raw.toString()).clientToken !== token) return;
        c.off('message', onMessage);
        resolve(t === replies[0] ? 'accepted' : 'rejected');
      };
      c.on('message', onMessage);
    });
    await c.subscribeAsync(replies, { qos: 1 });
    await c.publishAsync(topic, payload, { qos: 1 });
    const outcome = await reply;
    await c.unsubscribeAsync(replies);
    return outcome;
  }
}

for (const kind of STORE_KINDS) {
  describe(`agent reporting through a real meadow server (${kind})`, () => {
    let s: TestServer;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    let client: MqttClient | undefined;

    before(async () => {
      s = await startTestServer(kind, { clock });
      await publishComponents(s, ['com.example.Hello@1.0.0']);
    });
    after(async () => {
      await client?.endAsync(true);
      await s.close();
    });

    it('built job updates (made offline) and fleet-status messages show in ListEffectiveDeployments, ListCoreDevices, ListInstalledComponents', async () => {
      const groupName = uniqueName('agents');
      const groupArn = await newThingGroup(s, groupName);
      const [identity] = await provisionDevices(await endpointOf(s), 1, { groupName, prefix: uniqueName('agent') });
      const thing = identity.thingName;
      clock.advance(1000);
      const { deploymentId, jobId } = await deployToGroup(s, groupArn);
      const configurationArn = `arn:aws:greengrass:${REGION}:${ACCOUNT}:configuration:thinggroup/${groupName}:1`;

      // Offline: the deployment runs and fails; its updates and the fleet status wait in the outbox.
      const outbox = new Outbox(await StateStore.open(tempDir()), new MqttTransport(() => client));
      const outcome: DeploymentOutcome = { ...FAILED_ROLLBACK, failureCause: `Hello broke: ${'details '.repeat(300)}` };
      await outbox.enqueue([jobExecutionUpdate(thing, jobId, 'IN_PROGRESS', 'u1')]);
      await outbox.enqueue([jobExecutionUpdate(thing, jobId, outcome, 'u2')]);
      const components: ComponentState[] = [
        { componentName: 'com.example.Hello', version: '1.0.0', status: 'BROKEN', isRoot: true, fleetConfigArns: [configurationArn], statusCodes: ['STARTUP_ERROR'], statusReason: 'exit 1' },
        { componentName: 'aws.greengrass.Nucleus', version: '2.12.0', status: 'FINISHED', isRoot: false, fleetConfigArns: [configurationArn] },
      ];
      const base = { thing, ggcVersion: '2.12.0', platform: 'linux', architecture: 'amd64', timestamp: clock.now() };
      await outbox.enqueueFleetStatus({ ...base, trigger: 'NUCLEUS_LAUNCH', components });
      await outbox.enqueueFleetStatus({
        ...base,
        trigger: 'THING_GROUP_DEPLOYMENT',
        components: [components[0]],
        deploymentInformation: { status: 'FAILED', deploymentId, fleetConfigurationArnForStatus: configurationArn, outcome, unchangedRootComponents: [] },
      });
      assert.equal(await outbox.flush(), 'offline');
      assert.equal(outbox.pending().length, 4);

      client = await connectDevice(identity, { reconnectPeriod: 0 });
      clock.advance(1000);
      assert.equal(await outbox.flush(), 'empty');

      const [effective] = (await s.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: thing }))).effectiveDeployments!;
      assert.equal(effective.deploymentId, deploymentId);
      assert.equal(effective.coreDeviceExecutionStatus, 'FAILED');
      assert.equal(effective.reason, 'FAILED_ROLLBACK_COMPLETE');
      assert.deepEqual(effective.statusDetails, { errorStack: ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'], errorTypes: ['USER_COMPONENT_ERROR'] });

      await eventually('the fleet status is applied', async () => {
        const d = await s.gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: thing })).catch(() => undefined);
        const installed = (await s.gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: thing, topologyFilter: 'ALL' })).catch(() => undefined))?.installedComponents;
        return d?.status === 'UNHEALTHY' && installed?.length === 2;
      });
      const listed = (await s.gg.send(new ListCoreDevicesCommand({ status: 'UNHEALTHY' }))).coreDevices!.map((d) => d.coreDeviceThingName);
      assert.ok(listed.includes(thing));
      const installed = (await s.gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: thing, topologyFilter: 'ALL' }))).installedComponents!;
      const byName = Object.fromEntries(installed.map((c: InstalledComponent) => [c.componentName, c]));
      assert.equal(byName['com.example.Hello'].lifecycleState, 'BROKEN');
      assert.deepEqual(byName['com.example.Hello'].lifecycleStatusCodes, ['STARTUP_ERROR']);
      assert.equal(byName['com.example.Hello'].lifecycleStateDetails, 'exit 1');
      assert.equal(byName['aws.greengrass.Nucleus'].lifecycleState, 'FINISHED');
      assert.equal(byName['com.example.Hello'].lastInstallationSource, undefined, 'a failed deployment installed nothing');
    });

    it('a chunked COMPLETE message replaces the installed list on the server once all chunks are in', async () => {
      const [identity] = await provisionDevices(await endpointOf(s), 1, { prefix: uniqueName('agent') });
      client = await connectDevice(identity, { reconnectPeriod: 0 });
      const connected = client;
      const outbox = new Outbox(await StateStore.open(tempDir()), new MqttTransport(() => connected));
      const components = Array.from({ length: 700 }, (_, i) => ({
        componentName: `com.example.${'Chunked'.repeat(30)}.${String(i).padStart(3, '0')}`,
        version: '1.0.0',
        status: 'RUNNING' as const,
        isRoot: true,
        fleetConfigArns: [],
      }));
      const base = { thing: identity.thingName, ggcVersion: '2.12.1', platform: 'linux', architecture: 'amd64', timestamp: clock.now(), trigger: 'NUCLEUS_LAUNCH' as const };
      await outbox.enqueueFleetStatus({ ...base, components });
      assert.equal(await outbox.flush(), 'empty');
      const count = async () => {
        let n = 0;
        let nextToken: string | undefined;
        do {
          const page = await s.gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: identity.thingName, nextToken, maxResults: 100 })).catch(() => undefined);
          if (!page) return 0;
          n += page.installedComponents?.length ?? 0;
          nextToken = page.nextToken;
        } while (nextToken);
        return n;
      };
      await eventually('all 700 components are listed', async () => (await count()) === 700);
    });
  });
}
