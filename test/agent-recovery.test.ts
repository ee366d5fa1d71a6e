// The meadow agent when things go wrong or get unusual, end to end on localhost (test/helpers/agent.ts): a crashed
// agent's leftover processes, cancellation before a deployment is applied, a stale group deployment, a document too
// large for its job, runWith users, two groups' configurations, and status updates made while the server is down.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CancelDeploymentCommand, GetDeploymentCommand, GreengrassV2Client } from '@aws-sdk/client-greengrassv2';
import { CancelJobCommand, DescribeJobExecutionCommand, GetJobDocumentCommand, IoTClient } from '@aws-sdk/client-iot';
import type { Agent } from '../src/agent/agent.js';
import { DEPLOYMENT_SHADOW_NAME as DEPLOYMENT_SHADOW } from '../src/core/device-document/defaults.js';
import { AgentTestbed, useAgentTestbed, agentIsRoot, waitFor, WRITER, writerLifecycle, type Device } from './helpers/agent.js';
import { freePort } from './helpers/devices.js';
import { ACCOUNT, REGION, uniqueName } from './helpers/greengrass.js';
import { spawnMeadow, type MeadowProcess } from './helpers/process.js';
import { clientConfig, TEST_CREDENTIALS, type TestServer } from './helpers/server.js';

const IPC_FIXTURE = fileURLToPath(new URL('./fixtures/ipc-agent-component.mjs', import.meta.url));

/** Live (not zombie) processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const exitOf = (child: { once(e: 'exit', f: () => void): unknown; exitCode: number | null; signalCode: string | null }) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));

describe('meadow agent recovery (sqlite)', () => {
  const testbed = useAgentTestbed();
  let s: TestServer;
  let t: AgentTestbed;
  before(() => ({ s, t } = testbed));

  /** One document of the agent's state, as last committed (src/agent/state). */
  const agentState = (d: Device, document: string): unknown => {
    const manifest = JSON.parse(readFileSync(join(d.root, 'state', 'manifest.json'), 'utf8')) as { documents: Record<string, string> };
    return JSON.parse(readFileSync(join(d.root, 'state', manifest.documents[document]), 'utf8'));
  };
  /** The IPC fixture's events (one JSON line each) from its work folder. */
  const eventsOf = (d: Device, name: string): Record<string, unknown>[] => {
    const file = join(d.root, 'work', name, 'events.log');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
  };
  const ipcLifecycle = { Run: `"${process.execPath}" "${IPC_FIXTURE}" "{work:path}/events.log"` };
  const skipNotify = { componentUpdatePolicy: { action: 'SKIP_NOTIFY_COMPONENTS' as const }, configurationValidationPolicy: { timeoutInSeconds: 10 } };
  const notify = { componentUpdatePolicy: { action: 'NOTIFY_COMPONENTS' as const, timeoutInSeconds: 60 }, configurationValidationPolicy: { timeoutInSeconds: 10 } };

  const withLimit = (o: Record<string, number>) => ({ componentVersion: '1.0.0', configurationUpdate: { merge: JSON.stringify(o) } });

  /** The IPC fixture deployed to `target` so that it defers every update, then a second revision it is deferring now. */
  async function deferredUpdate(d: Device, target: string) {
    const name = uniqueName('com.example.Deferring');
    await t.publish(name, '1.0.0', { lifecycle: ipcLifecycle, defaults: { limit: 10 } });
    const first = await t.deploy({ targetArn: target, components: { [name]: withLimit({ deferMs: 30_000 }) }, deploymentPolicies: skipNotify });
    assert.match((await t.ended(d.thingName, first.deploymentId!)).coreDeviceExecutionStatus!, /^(SUCCEEDED|COMPLETED)$/);
    await waitFor('the component to connect', () => eventsOf(d, name).some((e) => e.event === 'ready') || undefined);
    const second = await t.deploy({ targetArn: target, components: { [name]: withLimit({ limit: 20 }) }, deploymentPolicies: notify });
    await waitFor('the component to defer the update', () => eventsOf(d, name).some((e) => e.event === 'pre' && e.deploymentId === second.deploymentId) || undefined);
    return { name, second };
  }

  it('stops the component processes a kill -9 of the agent left running before it starts them again', async () => {
    const group = uniqueName('fleet');
    const d = await t.newDevice([group]);
    const name = uniqueName('com.example.Daemon');
    // The script's path (under the component's artifacts) marks its process; `exec` leaves no shell around it.
    await t.publish(name, '1.0.0', { lifecycle: { Run: 'exec sh {artifacts:path}/run.sh {work:path}/pids' }, script: '#!/bin/sh\necho $$ >> "$1"\nwhile true; do sleep 1; done\n' });
    const first = t.spawnAgent(d);
    const dep = await t.deploy({ targetArn: await t.groupArn(group), components: { [name]: { componentVersion: '1.0.0' } } });
    assert.equal((await t.ended(d.thingName, dep.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const pidsFile = join(d.root, 'work', name, 'pids');
    const pids = () => (existsSync(pidsFile) ? readFileSync(pidsFile, 'utf8').trim().split('\n').map(Number) : []);
    const [old] = await waitFor('the component to start', () => (pids().length === 1 ? pids() : undefined));
    assert.deepEqual(processesWith(`${name}/1.0.0/run.sh`), [old]);

    first.kill('SIGKILL');
    await exitOf(first);
    assert.deepEqual(processesWith(`${name}/1.0.0/run.sh`), [old], 'the component outlives a killed agent (its own session)');

    const second = t.spawnAgent(d);
    const [, fresh] = await waitFor('the component to start again', () => (pids().length === 2 ? pids() : undefined), 20_000);
    assert.notEqual(fresh, old);
    await waitFor('one copy left', () => processesWith(`${name}/1.0.0/run.sh`).length === 1 || undefined, 5_000);
    assert.deepEqual(processesWith(`${name}/1.0.0/run.sh`), [fresh], 'the leftover copy is gone; exactly one runs');

    second.kill('SIGTERM');
    await exitOf(second);
    assert.deepEqual(processesWith(`${name}/1.0.0/run.sh`), [], 'a clean stop leaves nothing');
  });

  it('does not apply a group deployment whose job is force-canceled while components defer it', async () => {
    const group = uniqueName('fleet');
    const d = await t.newDevice([group]);
    await t.startAgent(d);
    const target = await t.groupArn(group);
    const { name, second } = await deferredUpdate(d, target);
    // CancelDeployment leaves an execution the device already took IN_PROGRESS (as AWS IoT does); a forced job
    // cancel takes it away from the device.
    await s.iot.send(new CancelJobCommand({ jobId: second.iotJobId!, force: true }));
    await waitFor('the post-update event of the canceled deployment', () => eventsOf(d, name).some((e) => e.event === 'post' && e.deploymentId === second.deploymentId) || undefined);
    const execution = (await s.iot.send(new DescribeJobExecutionCommand({ jobId: second.iotJobId!, thingName: d.thingName }))).execution!;
    assert.equal(execution.status, 'CANCELED');

    // The agent is free for the next deployment, and the canceled configuration never reached the component.
    const third = await t.deploy({ targetArn: target, components: { [name]: withLimit({ limit: 30 }) }, deploymentPolicies: skipNotify });
    assert.equal((await t.ended(d.thingName, third.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    await waitFor('the configuration event', () => eventsOf(d, name).some((e) => e.event === 'config') || undefined);
    const seen = eventsOf(d, name).filter((e) => e.event === 'config' || e.event === 'validate');
    assert.deepEqual(seen, [
      { event: 'validate', limit: 30, ok: true },
      { event: 'config', keyPath: ['limit'], value: { limit: 30 } },
    ]);
  });

  it('does not resume a group deployment whose job was force-canceled while the agent was down', async () => {
    const group = uniqueName('fleet');
    const d = await t.newDevice([group]);
    const first = t.spawnAgent(d);
    const target = await t.groupArn(group);
    const { name, second: rev2 } = await deferredUpdate(d, target);
    first.kill('SIGKILL');
    await exitOf(first);
    await s.iot.send(new CancelJobCommand({ jobId: rev2.iotJobId!, force: true }));

    t.spawnAgent(d);
    await waitFor('the resumed deployment to end', () => (agentState(d, 'deployment') === null ? true : undefined));
    const pinned = (agentState(d, 'targets') as Record<string, { configurationArn: string }>)[`thinggroup/${group}`];
    assert.match(pinned.configurationArn, /:1$/, 'the group stays pinned at revision 1');
    const rev3 = await t.deploy({ targetArn: target, components: { [name]: withLimit({ limit: 30 }) }, deploymentPolicies: skipNotify });
    assert.equal((await t.ended(d.thingName, rev3.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const limits = eventsOf(d, name).map((e) => JSON.stringify(e.limit ?? e.value ?? null));
    assert.ok(!limits.some((l) => l.includes('20')), `revision 2's configuration never reached the component: ${limits}`);
  });

  it('reports CANCELED in the deployment shadow for a thing deployment canceled before it was applied', async () => {
    const d = await t.newDevice([]);
    await t.startAgent(d);
    const { name, second } = await deferredUpdate(d, d.thingArn);
    assert.equal((await t.effective(d.thingName, second.deploymentId!))?.coreDeviceExecutionStatus, 'IN_PROGRESS');
    await s.gg.send(new CancelDeploymentCommand({ deploymentId: second.deploymentId! }));

    const e = await t.ended(d.thingName, second.deploymentId!);
    assert.equal(e.coreDeviceExecutionStatus, 'CANCELED');
    const shadow = await s.store.getShadow({ accountId: ACCOUNT, region: REGION }, d.thingName, DEPLOYMENT_SHADOW);
    const reported = shadow?.state.reported as Record<string, unknown> | undefined;
    assert.equal(reported?.status, 'CANCELED', JSON.stringify(shadow));
    const { revisionId } = await s.gg.send(new GetDeploymentCommand({ deploymentId: second.deploymentId! }));
    assert.match(String(reported?.fleetConfigurationArnForStatus), new RegExp(`:thing/${d.thingName}:${revisionId}$`), 'the report names revision 2');
    await waitFor('the post-update event that ends a discarded notification', () => eventsOf(d, name).some((x) => x.event === 'post') || undefined, 5_000);
    assert.ok(!eventsOf(d, name).some((x) => x.event === 'config' || x.event === 'validate'), 'the canceled configuration was neither validated nor applied');
  });

  it('rejects an older revision of a group deployment arriving after a newer one was applied (REJECTED_STALE_DEPLOYMENT)', async () => {
    const group = uniqueName('fleet');
    const d = await t.newDevice([group]);
    const agent = await t.startAgent(d);
    const name = uniqueName('com.example.Hello');
    await t.publish(name, '1.0.0', { lifecycle: writerLifecycle, defaults: { greeting: 'default' }, script: WRITER });
    const target = await t.groupArn(group);
    const deployWith = (greeting: string) => t.deploy({ targetArn: target, components: { [name]: { componentVersion: '1.0.0', configurationUpdate: { merge: JSON.stringify({ greeting }) } } } });
    const rev1 = await deployWith('one');
    assert.equal((await t.ended(d.thingName, rev1.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const rev2 = await deployWith('two');
    assert.equal((await t.ended(d.thingName, rev2.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');

    // meadow's server cannot offer revision 1 again (creating revision 2 canceled its job), so its job document is
    // handed to the agent's job intake directly, as a late delivery of a still-pending execution would.
    const { document } = await s.iot.send(new GetJobDocumentCommand({ jobId: rev1.iotJobId! }));
    const updates: Record<string, unknown>[] = [];
    const mqtt = (agent as unknown as { mqtt: { publish: (topic: string, payload: string, ...rest: unknown[]) => unknown } }).mqtt;
    const publish = mqtt.publish.bind(mqtt);
    mqtt.publish = (topic, payload, ...rest) => {
      if (topic.includes(`/jobs/${rev1.iotJobId}/`)) updates.push(JSON.parse(payload));
      return publish(topic, payload, ...rest);
    };
    (agent as unknown as { onJob(job: unknown): void }).onJob({ jobId: rev1.iotJobId, queuedAt: Math.floor(Date.now() / 1000), jobDocument: JSON.parse(document!) });
    const update = await waitFor('the update of the stale job', () => updates[0]);
    assert.equal(update.status, 'REJECTED');
    const details = update.statusDetails as Record<string, string>;
    assert.equal(details['detailed-deployment-status'], 'REJECTED');
    assert.deepEqual(JSON.parse(details['deployment-error-stack']), ['DEPLOYMENT_REJECTED', 'REJECTED_STALE_DEPLOYMENT']);
    assert.match(details['deployment-failure-cause'], /older/);
    assert.equal(readFileSync(join(d.root, 'work', name, 'out.txt'), 'utf8').split(' ')[0], 'two', 'the device keeps revision 2');
  });

  it('applies a LARGE_CONFIGURATION deployment with the full configuration fetched by GetDeploymentConfiguration', async () => {
    const group = uniqueName('fleet');
    const d = await t.newDevice([group]);
    await t.startAgent(d);
    const name = uniqueName('com.example.Big');
    await t.publish(name, '1.0.0', { lifecycle: { Run: `printf '%s' '{configuration:/blob}' | wc -c > {work:path}/length.txt` }, defaults: { blob: 'small' } });
    const blob = 'x'.repeat(40_000) + 'END';
    const dep = await t.deploy({ targetArn: await t.groupArn(group), components: { [name]: { componentVersion: '1.0.0', configurationUpdate: { merge: JSON.stringify({ blob }) } } } });
    const jobDocument = JSON.parse((await s.iot.send(new GetJobDocumentCommand({ jobId: dep.iotJobId! }))).document!);
    assert.deepEqual(jobDocument.requiredCapabilities, ['LARGE_CONFIGURATION'], 'the job carries the short form');
    assert.equal(JSON.stringify(jobDocument).includes('xxxx'), false);
    assert.equal((await t.ended(d.thingName, dep.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const length = await waitFor('the component to write its configuration length', () => (existsSync(join(d.root, 'work', name, 'length.txt')) ? readFileSync(join(d.root, 'work', name, 'length.txt'), 'utf8').trim() : undefined));
    assert.equal(Number(length), blob.length);
  });

  it("runs a component as runWith.posixUser, and as the default user again once a deployment omits runWith", async () => {
    const group = uniqueName('fleet');
    const d = await t.newDevice([group]);
    await t.startAgent(d);
    const name = uniqueName('com.example.WhoAmI');
    await t.publish(name, '1.0.0', { lifecycle: { Run: 'id -u > {work:path}/uid.txt' } });
    const target = await t.groupArn(group);
    const uidFile = join(d.root, 'work', name, 'uid.txt');
    const uid = () => (existsSync(uidFile) ? readFileSync(uidFile, 'utf8').trim() : undefined);
    const asNobody = await t.deploy({ targetArn: target, components: { [name]: { componentVersion: '1.0.0', runWith: { posixUser: 'nobody' } } } });
    assert.equal((await t.ended(d.thingName, asNobody.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    // A root agent switches users; any other agent runs every component as itself.
    const nobody = agentIsRoot ? '65534' : String(process.getuid!());
    assert.equal(await waitFor('the uid file', uid), nobody);

    const asDefault = await t.deploy({ targetArn: target, components: { [name]: { componentVersion: '1.0.0' } } });
    assert.equal((await t.ended(d.thingName, asDefault.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const defaultUid = String(process.getuid!()); // the tests' default user is root when the agent is root
    assert.equal(await waitFor('the uid file to show the default user', () => (uid() === defaultUid ? uid() : undefined), 10_000), defaultUid);
  });

  it("gives a deployment's configurationUpdate only to its own roots: group B's deployment leaves group A's root alone", async () => {
    const [a, b] = [uniqueName('fleet-a'), uniqueName('fleet-b')];
    const d = await t.newDevice([a, b]);
    await t.startAgent(d);
    const [p, q] = [uniqueName('com.example.P'), uniqueName('com.example.Q')];
    for (const n of [p, q]) await t.publish(n, '1.0.0', { lifecycle: writerLifecycle, script: WRITER, defaults: { greeting: 'default' } });
    const merge = (greeting: string) => ({ merge: JSON.stringify({ greeting }) });
    const toA = await t.deploy({ targetArn: await t.groupArn(a), components: { [p]: { componentVersion: '1.0.0', configurationUpdate: merge('from-a') } } });
    assert.equal((await t.ended(d.thingName, toA.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const toB = await t.deploy({
      targetArn: await t.groupArn(b),
      components: { [q]: { componentVersion: '1.0.0', configurationUpdate: merge('from-b') } },
    });
    assert.equal((await t.ended(d.thingName, toB.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const greeting = (n: string) => readFileSync(join(d.root, 'work', n, 'out.txt'), 'utf8').split(' ')[0];
    await waitFor("Q's file", () => existsSync(join(d.root, 'work', q, 'out.txt')) || undefined);
    assert.equal(greeting(q), 'from-b');
    assert.equal(greeting(p), 'from-a');
  });
});

describe('meadow agent with the server down (sqlite, `meadow serve` process)', () => {
  let meadow: MeadowProcess | undefined;
  let env: Record<string, string>;
  let t: AgentTestbed;
  let dataDir: string;
  const clients: { gg: GreengrassV2Client; iot: IoTClient }[] = [];

  const serverOf = (m: MeadowProcess, dataPlanePort: number) => {
    const c = { gg: new GreengrassV2Client(clientConfig(m.endpoint)), iot: new IoTClient(clientConfig(m.endpoint)) };
    clients.push(c);
    return { endpoint: m.endpoint, mqttPort: m.mqttPort, dataPlaneEndpoint: `https://127.0.0.1:${dataPlanePort}`, ...c };
  };

  before(async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    dataDir = mkdtempSync(join(tmpdir(), 'meadow-agent-offline-'));
    const [port, mqttPort, dataPlanePort] = [await freePort(), await freePort(), await freePort()];
    env = {
      MEADOW_DATA_DIR: dataDir,
      MEADOW_PORT: String(port),
      MEADOW_MQTT_PORT: String(mqttPort),
      MEADOW_DATA_PLANE_PORT: String(dataPlanePort),
      MEADOW_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      MEADOW_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    };
    meadow = await spawnMeadow(env);
    t = await new AgentTestbed(serverOf(meadow, dataPlanePort)).init();
  });
  after(async () => {
    await t?.close();
    for (const c of clients) (c.gg.destroy(), c.iot.destroy());
    await meadow?.stop();
    const { rmSync } = await import('node:fs');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends the updates made while the server was down in order once it is back; the execution ends SUCCEEDED', async () => {
    const group = uniqueName('fleet');
    const d = await t.newDevice([group]);
    await t.startAgent(d);
    const name = uniqueName('com.example.Offline');
    await t.publish(name, '1.0.0', { lifecycle: { Install: 'touch {work:path}/installing && sleep 3', ...writerLifecycle }, defaults: { greeting: 'offline' }, script: WRITER });
    const dep = await t.deploy({ targetArn: await t.groupArn(group), components: { [name]: { componentVersion: '1.0.0' } } });
    const outbox = () => {
      const manifest = JSON.parse(readFileSync(join(d.root, 'state', 'manifest.json'), 'utf8')) as { documents: Record<string, string> };
      return JSON.parse(readFileSync(join(d.root, 'state', manifest.documents.outbox), 'utf8')) as { topic: string; payload: string }[];
    };
    await waitFor('the install step to run', () => existsSync(join(d.root, 'work', name, 'installing')) || undefined);
    // The IN_PROGRESS report went out while the install began; the server goes down once it has answered it.
    await waitFor('the IN_PROGRESS report to be answered', () => (outbox().length === 0 ? true : undefined));
    meadow!.child.kill('SIGKILL');
    await exitOf(meadow!.child);
    // The deployment finishes on the device while nothing can be reported.
    await waitFor('the component to run', () => existsSync(join(d.root, 'work', name, 'out.txt')) || undefined, 20_000);
    // The job's final update, then the fleet status, wait in the outbox in the order they were made.
    const queued = await waitFor('the outbox to hold the final reports', () => (outbox().length >= 2 ? outbox() : undefined));
    assert.deepEqual(
      queued.map((m) => [m.topic.split('/').at(-1), JSON.parse(m.payload).status ?? JSON.parse(m.payload).trigger]),
      [
        ['update', 'SUCCEEDED'],
        ['json', 'THING_GROUP_DEPLOYMENT'],
      ],
    );

    meadow = await spawnMeadow(env);
    t.useServer(serverOf(meadow, Number(env.MEADOW_DATA_PLANE_PORT)));
    const e = await t.ended(d.thingName, dep.deploymentId!);
    assert.equal(e.coreDeviceExecutionStatus, 'SUCCEEDED', JSON.stringify(e));
    const execution = (await t.server.iot.send(new DescribeJobExecutionCommand({ jobId: dep.iotJobId!, thingName: d.thingName }))).execution!;
    assert.equal(execution.status, 'SUCCEEDED');
    // QUEUED (1) -> IN_PROGRESS (2, sent before the server went down) -> SUCCEEDED (3): each update taken once.
    assert.equal(execution.versionNumber, 3);
    assert.equal(execution.statusDetails?.detailsMap?.['detailed-deployment-status'], 'SUCCESSFUL');
    let listed: unknown;
    await waitFor('the component in ListInstalledComponents', async () => (['RUNNING', 'FINISHED'].includes((listed = await t.installed(d.thingName))[name]?.state) ? true : undefined)).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(listed)}`);
    });
  });
});
