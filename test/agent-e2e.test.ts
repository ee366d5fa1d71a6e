// The meadow agent end to end on localhost: a real meadow server (SQLite: the device-side behaviour does not depend on
// the store), devices provisioned with `meadow provision`'s code, real agents (in this process, or as `meadow agent`
// processes where a kill -9 is needed), components whose artifacts are shell scripts published through
// CreateComponentVersion, and deployments made with the AWS SDK (test/helpers/agent.ts). Assertions read what the
// cloud shows (ListEffectiveDeployments, ListInstalledComponents, DescribeJobExecution) and what the components wrote.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { RemoveThingFromThingGroupCommand } from '@aws-sdk/client-iot';
import { AgentTestbed, useAgentTestbed, waitFor, WRITER, writerLifecycle, type Device } from './helpers/agent.js';
import { REGION, uniqueName } from './helpers/greengrass.js';
import type { TestServer } from './helpers/server.js';

const IPC_FIXTURE = fileURLToPath(new URL('./fixtures/ipc-agent-component.mjs', import.meta.url));

describe('meadow agent (sqlite)', () => {
  const testbed = useAgentTestbed();
  let s: TestServer;
  let t: AgentTestbed;
  before(() => ({ s, t } = testbed));

  const newDevice = (groups: string[]) => t.newDevice(groups);
  const startAgent = (d: Device, extra?: Parameters<AgentTestbed['startAgent']>[1]) => t.startAgent(d, extra);
  const publish = (...a: Parameters<AgentTestbed['publish']>) => t.publish(...a);
  const deploy = (...a: Parameters<AgentTestbed['deploy']>) => t.deploy(...a);
  const ended = (thingName: string, deploymentId: string) => t.ended(thingName, deploymentId);
  const installed = (thingName: string) => t.installed(thingName);
  const jobDetails = (jobId: string, thingName: string) => t.jobDetails(jobId, thingName);
  const groupArn = (name: string) => t.groupArn(name);

  it('deploys a script component to a group, then a second revision with a new version and configuration', async () => {
    const group = uniqueName('fleet');
    const d = await newDevice([group]);
    await startAgent(d);
    const name = uniqueName('com.example.Hello');
    await publish(name, '1.0.0', { lifecycle: writerLifecycle, defaults: { greeting: 'hello' }, script: WRITER });
    const first = await deploy({
      targetArn: await groupArn(group),
      components: { [name]: { componentVersion: '1.0.0', configurationUpdate: { merge: JSON.stringify({ greeting: 'hi' }) } } },
    });
    const e1 = await ended(d.thingName, first.deploymentId!);
    assert.equal(e1.coreDeviceExecutionStatus, 'SUCCEEDED', JSON.stringify(e1));
    const out = join(d.root, 'work', name, 'out.txt');
    assert.equal(readFileSync(out, 'utf8'), `hi ${d.thingName} ${REGION} has-svcuid\n`);
    const listed = await waitFor('the component in ListInstalledComponents', async () => {
      const i = await installed(d.thingName);
      return i[name]?.state === 'FINISHED' || i[name]?.state === 'RUNNING' ? i : undefined;
    });
    assert.equal(listed[name].version, '1.0.0');

    await publish(name, '1.1.0', { lifecycle: writerLifecycle, defaults: { greeting: 'hello', other: 1 }, script: WRITER });
    const second = await deploy({
      targetArn: await groupArn(group),
      components: { [name]: { componentVersion: '1.1.0', configurationUpdate: { merge: JSON.stringify({ greeting: 'hey there' }) } } },
    });
    const e2 = await ended(d.thingName, second.deploymentId!);
    assert.equal(e2.coreDeviceExecutionStatus, 'SUCCEEDED', JSON.stringify(e2));
    assert.equal(readFileSync(out, 'utf8'), `hey there ${d.thingName} ${REGION} has-svcuid\n`);
    await waitFor('version 1.1.0 in ListInstalledComponents', async () => ((await installed(d.thingName))[name]?.version === '1.1.0' ? true : undefined));
  });
  it('rolls back a component that fails its startup to the previous version; with DO_NOTHING it stays', async () => {
    const group = uniqueName('fleet');
    const d = await newDevice([group]);
    await startAgent(d);
    const name = uniqueName('com.example.Flaky');
    await publish(name, '1.0.0', { lifecycle: writerLifecycle, defaults: { greeting: 'v1' }, script: WRITER });
    await publish(name, '2.0.0', { lifecycle: { Startup: 'echo starting; exit 3' } });
    const target = await groupArn(group);
    const good = await deploy({ targetArn: target, components: { [name]: { componentVersion: '1.0.0' } } });
    assert.equal((await ended(d.thingName, good.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');

    const bad = await deploy({ targetArn: target, components: { [name]: { componentVersion: '2.0.0' } } });
    const e = await ended(d.thingName, bad.deploymentId!);
    assert.equal(e.coreDeviceExecutionStatus, 'FAILED');
    assert.equal(e.reason, 'FAILED_ROLLBACK_COMPLETE');
    assert.deepEqual(e.statusDetails?.errorStack, ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN']);
    assert.deepEqual(e.statusDetails?.errorTypes, ['USER_COMPONENT_ERROR']);
    const details = await jobDetails(bad.iotJobId!, d.thingName);
    assert.equal(details['detailed-deployment-status'], 'FAILED_ROLLBACK_COMPLETE');
    assert.match(details['deployment-failure-cause'], new RegExp(`Service ${name.replace(/\./g, '\\.')} in broken state`));
    await waitFor('1.0.0 back in ListInstalledComponents', async () => {
      const c = (await installed(d.thingName))[name];
      return c?.version === '1.0.0' && (c.state === 'FINISHED' || c.state === 'RUNNING') ? true : undefined;
    });

    const kept = await deploy({ targetArn: target, components: { [name]: { componentVersion: '2.0.0' } }, deploymentPolicies: { failureHandlingPolicy: 'DO_NOTHING' } });
    const e3 = await ended(d.thingName, kept.deploymentId!);
    assert.equal(e3.coreDeviceExecutionStatus, 'FAILED');
    assert.equal(e3.reason, 'FAILED_ROLLBACK_NOT_REQUESTED');
    await waitFor('2.0.0 BROKEN in ListInstalledComponents', async () => {
      const c = (await installed(d.thingName))[name];
      return c?.version === '2.0.0' && c.state === 'BROKEN' ? true : undefined;
    });
  });

  it('applies a thing deployment from the deployment shadow', async () => {
    const d = await newDevice([]);
    await startAgent(d);
    const name = uniqueName('com.example.Solo');
    await publish(name, '1.0.0', { lifecycle: writerLifecycle, defaults: { greeting: 'solo' }, script: WRITER });
    const dep = await deploy({ targetArn: d.thingArn, components: { [name]: { componentVersion: '1.0.0' } } });
    const e = await ended(d.thingName, dep.deploymentId!);
    assert.equal(e.coreDeviceExecutionStatus, 'COMPLETED', JSON.stringify(e));
    assert.equal(readFileSync(join(d.root, 'work', name, 'out.txt'), 'utf8'), `solo ${d.thingName} ${REGION} has-svcuid\n`);
  });

  it("fails a deployment whose group's requirements conflict with another group's, naming both", async () => {
    const [a, b] = [uniqueName('fleet-a'), uniqueName('fleet-b')];
    const d = await newDevice([a, b]);
    await startAgent(d);
    const name = uniqueName('com.example.Shared');
    await publish(name, '1.0.0', { lifecycle: writerLifecycle, script: WRITER, defaults: { greeting: 'one' } });
    await publish(name, '2.0.0', { lifecycle: writerLifecycle, script: WRITER, defaults: { greeting: 'two' } });
    const first = await deploy({ targetArn: await groupArn(a), components: { [name]: { componentVersion: '1.0.0' } } });
    assert.equal((await ended(d.thingName, first.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const second = await deploy({ targetArn: await groupArn(b), components: { [name]: { componentVersion: '2.0.0' } } });
    const e = await ended(d.thingName, second.deploymentId!);
    assert.equal(e.coreDeviceExecutionStatus, 'FAILED');
    assert.equal(e.reason, 'FAILED_NO_STATE_CHANGE');
    assert.deepEqual(e.statusDetails?.errorStack, ['DEPLOYMENT_FAILURE', 'NO_AVAILABLE_COMPONENT_VERSION', 'COMPONENT_VERSION_REQUIREMENTS_NOT_MET']);
    const cause = (await jobDetails(second.iotJobId!, d.thingName))['deployment-failure-cause'];
    assert.ok(cause.includes(`thinggroup/${a} requires =1.0.0`) && cause.includes(`thinggroup/${b} requires =2.0.0`), cause);
    assert.equal(readFileSync(join(d.root, 'work', name, 'out.txt'), 'utf8').split(' ')[0], 'one');
  });

  it("drops a group's components on the next deployment after the device left the group", async () => {
    const [a, b] = [uniqueName('fleet-a'), uniqueName('fleet-b')];
    const d = await newDevice([a, b]);
    await startAgent(d);
    const [x, y] = [uniqueName('com.example.X'), uniqueName('com.example.Y')];
    for (const n of [x, y]) await publish(n, '1.0.0', { lifecycle: writerLifecycle, script: WRITER, defaults: { greeting: n } });
    assert.equal((await ended(d.thingName, (await deploy({ targetArn: await groupArn(a), components: { [x]: { componentVersion: '1.0.0' } } })).deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    assert.equal((await ended(d.thingName, (await deploy({ targetArn: await groupArn(b), components: { [y]: { componentVersion: '1.0.0' } } })).deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    await waitFor('both components listed', async () => {
      const i = await installed(d.thingName);
      return i[x] && i[y] ? true : undefined;
    });
    assert.ok(existsSync(join(d.root, 'work', y)));
    await s.iot.send(new RemoveThingFromThingGroupCommand({ thingName: d.thingName, thingGroupName: b }));
    const again = await deploy({ targetArn: await groupArn(a), components: { [x]: { componentVersion: '1.0.0' } } });
    assert.equal((await ended(d.thingName, again.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    assert.ok(!existsSync(join(d.root, 'work', y)), 'the work folder of the removed component is gone');
    assert.ok(!existsSync(join(d.root, 'packages', 'artifacts', y)), 'its artifacts are cleaned from the store');
    await waitFor('only X listed', async () => {
      const i = await installed(d.thingName);
      return i[x] && !i[y] ? true : undefined;
    });
  });

  it('fails with ARTIFACT_CHECKSUM_MISMATCH when the artifact no longer matches its digest', async () => {
    const group = uniqueName('fleet');
    const d = await newDevice([group]);
    await startAgent(d, { componentStore: { checksumAttempts: 2, sleep: async () => {} } });
    const name = uniqueName('com.example.Tampered');
    const { key } = await publish(name, '1.0.0', { lifecycle: writerLifecycle, script: WRITER });
    await t.putArtifact(key, '#!/bin/sh\necho tampered\n');
    const dep = await deploy({ targetArn: await groupArn(group), components: { [name]: { componentVersion: '1.0.0' } } });
    const e = await ended(d.thingName, dep.deploymentId!);
    assert.equal(e.coreDeviceExecutionStatus, 'FAILED');
    assert.equal(e.reason, 'FAILED_NO_STATE_CHANGE');
    assert.deepEqual(e.statusDetails?.errorStack, ['DEPLOYMENT_FAILURE', 'ARTIFACT_DOWNLOAD_ERROR', 'ARTIFACT_CHECKSUM_MISMATCH']);
    assert.deepEqual(e.statusDetails?.errorTypes, ['COMPONENT_RECIPE_ERROR']);
  });
  it('ends a deployment with a status after the agent process is killed (-9) during it and started again', async () => {
    const group = uniqueName('fleet');
    const d = await newDevice([group]);
    const run = () => t.spawnAgent(d);
    const first = run();
    const name = uniqueName('com.example.Slow');
    await publish(name, '1.0.0', {
      lifecycle: { Install: 'touch {work:path}/installing && sleep 2', ...writerLifecycle },
      defaults: { greeting: 'survived' },
      script: WRITER,
    });
    const dep = await deploy({ targetArn: await groupArn(group), components: { [name]: { componentVersion: '1.0.0' } } });
    await waitFor('the install step to run', () => existsSync(join(d.root, 'work', name, 'installing')) || undefined);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = run();
    const e = await ended(d.thingName, dep.deploymentId!);
    assert.equal(e.coreDeviceExecutionStatus, 'SUCCEEDED', JSON.stringify(e));
    await waitFor('the component to write its file', () => existsSync(join(d.root, 'work', name, 'out.txt')) || undefined);
    assert.equal(readFileSync(join(d.root, 'work', name, 'out.txt'), 'utf8').split(' ')[0], 'survived');
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  });

  it('lets a component using the SDK IPC client defer an update, reject a configuration, and see an accepted one', async () => {
    const group = uniqueName('fleet');
    const d = await newDevice([group]);
    await startAgent(d);
    const name = uniqueName('com.example.Ipc');
    await publish(name, '1.0.0', { lifecycle: { Run: `"${process.execPath}" "${IPC_FIXTURE}" "{work:path}/events.log"` }, defaults: { limit: 10 } });
    const target = await groupArn(group);
    const policies = { componentUpdatePolicy: { action: 'NOTIFY_COMPONENTS' as const, timeoutInSeconds: 10 }, configurationValidationPolicy: { timeoutInSeconds: 10 } };
    const first = await deploy({ targetArn: target, components: { [name]: { componentVersion: '1.0.0' } }, deploymentPolicies: policies });
    assert.equal((await ended(d.thingName, first.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const log = join(d.root, 'work', name, 'events.log');
    const events = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
    await waitFor('the component to connect', () => events().some((e) => e.event === 'ready') || undefined);
    assert.deepEqual(events()[0], { event: 'ready', limit: { limit: 10 } }); // a leaf comes back as { name: value }, as the nucleus answers

    const second = await deploy({
      targetArn: target,
      components: { [name]: { componentVersion: '1.0.0', configurationUpdate: { merge: JSON.stringify({ limit: 99999 }) } } },
      deploymentPolicies: policies,
    });
    const e = await ended(d.thingName, second.deploymentId!);
    assert.equal(e.coreDeviceExecutionStatus, 'FAILED');
    assert.equal(e.reason, 'FAILED_NO_STATE_CHANGE');
    assert.deepEqual(e.statusDetails?.errorStack, ['DEPLOYMENT_FAILURE', 'COMPONENT_CONFIGURATION_NOT_VALID']);
    const cause = (await jobDetails(second.iotJobId!, d.thingName))['deployment-failure-cause'];
    assert.match(cause, /limit must stay below 9000/);
    await waitFor('the post-update event', () => events().some((x) => x.event === 'post') || undefined);
    assert.deepEqual(
      events().slice(1).filter((x) => x.event !== 'config').map((x) => [x.event, x.recheckAfterMs ?? x.ok ?? null, x.deploymentId ?? null]),
      [
        ['pre', 1500, second.deploymentId],
        ['pre', 0, second.deploymentId],
        ['validate', false, null],
        ['post', null, second.deploymentId],
      ],
    );
    assert.ok(!events().some((x) => x.event === 'config'), 'a rejected configuration is never announced');

    // An accepted change reaches the component through SubscribeToConfigurationUpdate, and GetConfiguration reads it.
    const third = await deploy({
      targetArn: target,
      components: { [name]: { componentVersion: '1.0.0', configurationUpdate: { merge: JSON.stringify({ limit: 42 }) } } },
      deploymentPolicies: policies,
    });
    assert.equal((await ended(d.thingName, third.deploymentId!)).coreDeviceExecutionStatus, 'SUCCEEDED');
    const change = await waitFor('the configuration update event', () => events().find((x) => x.event === 'config'));
    assert.deepEqual(change, { event: 'config', keyPath: ['limit'], value: { limit: 42 } });
  });
});
