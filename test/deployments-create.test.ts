// CreateDeployment and GetDeployment: targets, revisions (also under concurrency), what is stored and returned,
// and that a failed create leaves nothing behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConflictException,
  GetDeploymentCommand,
  ResourceNotFoundException,
  ValidationException,
  type CreateDeploymentCommandInput,
} from '@aws-sdk/client-greengrassv2';
import { ManualClock } from '../src/core/clock.js';
import { STORE_KINDS } from './helpers/databases.js';
import {
  allDeploymentIds,
  deploy,
  fieldViolation,
  listAll,
  newThing,
  newThingGroup,
  publishComponents,
  rejectsWith,
  uniqueName,
} from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HELLO = { 'com.example.Hello': { componentVersion: '1.0.0' } };
/** Every component version the suites below deploy: CreateDeployment accepts only published ones. */
const PUBLISHED = ['com.example.Hello@1.0.0', 'com.example.Other@2.3.4-beta.1+build.7'];

for (const kind of STORE_KINDS) {
  describe(`CreateDeployment (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
      await publishComponents(s, PUBLISHED);
    });
    after(() => s.close());

    /** A create that must fail with `cls` and write nothing at all. */
    async function createFails<E extends Error>(input: CreateDeploymentCommandInput, cls: abstract new (...a: any[]) => E): Promise<E> {
      const before = await allDeploymentIds(s);
      const err = await rejectsWith(deploy(s, input), cls);
      assert.deepEqual(await allDeploymentIds(s), before, 'a failed CreateDeployment left a deployment behind');
      return err;
    }

    it('to a thing group answers 201 with a deployment id and the IoT job that carries it', async () => {
      const group = await newThingGroup(s);
      const out = await deploy(s, { targetArn: group, components: HELLO });
      assert.equal(out.$metadata.httpStatusCode, 201);
      assert.match(out.deploymentId!, UUID);
      assert.match(out.iotJobId!, UUID);
      assert.equal(out.iotJobArn, `arn:aws:iot:us-east-1:123456789012:job/${out.iotJobId}`);
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
      assert.equal(got.iotJobId, out.iotJobId);
      assert.equal(got.iotJobArn, out.iotJobArn);
      assert.equal(got.targetArn, group);
    });

    it('to a single thing has no IoT job', async () => {
      const thing = await newThing(s);
      const out = await deploy(s, { targetArn: thing, components: HELLO });
      assert.equal(out.$metadata.httpStatusCode, 201);
      assert.match(out.deploymentId!, UUID);
      assert.equal(out.iotJobId, undefined);
      assert.equal(out.iotJobArn, undefined);
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
      assert.equal(got.iotJobId, undefined);
      assert.equal(got.iotJobArn, undefined);
      assert.equal(got.deploymentStatus, 'ACTIVE');
    });

    it('to a thing group that does not exist is ResourceNotFoundException naming the ARN', async () => {
      const arn = `arn:aws:iot:us-east-1:123456789012:thinggroup/${uniqueName('missing')}`;
      const err = await createFails({ targetArn: arn, components: HELLO }, ResourceNotFoundException);
      assert.equal(err.resourceId, arn);
      assert.equal(err.resourceType, 'thingGroup');
      assert.ok(err.message.includes(arn), err.message);
      assert.equal(err.$metadata.httpStatusCode, 404);
    });

    it('to a thing that does not exist is ResourceNotFoundException naming the ARN', async () => {
      const arn = `arn:aws:iot:us-east-1:123456789012:thing/${uniqueName('missing')}`;
      const err = await createFails({ targetArn: arn, components: HELLO }, ResourceNotFoundException);
      assert.equal(err.resourceId, arn);
      assert.equal(err.resourceType, 'thing');
      assert.ok(err.message.includes(arn), err.message);
    });

    it('to a target of another account or region is ResourceNotFoundException, even when the name exists here', async () => {
      const name = uniqueName('group');
      await newThingGroup(s, name);
      for (const arn of [`arn:aws:iot:us-east-1:999999999999:thinggroup/${name}`, `arn:aws:iot:eu-west-1:123456789012:thinggroup/${name}`]) {
        const err = await createFails({ targetArn: arn, components: HELLO }, ResourceNotFoundException);
        assert.equal(err.resourceId, arn);
        assert.ok(err.message.includes(arn), err.message);
      }
    });

    it('with a parentTargetArn that does not exist is ResourceNotFoundException naming the parent', async () => {
      const child = await newThingGroup(s);
      const parent = `arn:aws:iot:us-east-1:123456789012:thinggroup/${uniqueName('missing-parent')}`;
      const err = await createFails({ targetArn: child, parentTargetArn: parent, components: HELLO }, ResourceNotFoundException);
      assert.equal(err.resourceId, parent);
      assert.ok(err.message.includes(parent), err.message);
      assert.ok(err.message.includes('parentTargetArn'), err.message);
    });

    it('with a parentTargetArn and a thing target is ValidationException naming targetArn', async () => {
      const thing = await newThing(s);
      const parent = await newThingGroup(s);
      const err = await createFails({ targetArn: thing, parentTargetArn: parent, components: HELLO }, ValidationException);
      const field = fieldViolation(err, 'targetArn');
      assert.match(field.message!, /thing group/);
      assert.equal(err.$metadata.httpStatusCode, 400);
    });

    it('to a target ARN of the wrong form is ValidationException naming targetArn', async () => {
      const err = await createFails({ targetArn: 'arn:aws:iot:us-east-1:123456789012:job/x', components: HELLO }, ValidationException);
      fieldViolation(err, 'targetArn');
    });

    it('a subdeployment group cannot move to another parent: ConflictException, and the failed attempt takes no revision', async () => {
      const parentA = await newThingGroup(s);
      const parentB = await newThingGroup(s);
      const child = await newThingGroup(s);
      const first = await deploy(s, { targetArn: child, parentTargetArn: parentA, components: HELLO });
      const err = await createFails({ targetArn: child, parentTargetArn: parentB, components: HELLO }, ConflictException);
      assert.equal(err.resourceId, first.deploymentId);
      assert.equal(err.resourceType, 'deployment');
      assert.ok(err.message.includes(parentA) && err.message.includes(parentB), err.message);
      assert.equal(err.$metadata.httpStatusCode, 409);

      // The rejected revision was rolled back whole: the first deployment is untouched and the next revision is 2.
      const kept = await s.gg.send(new GetDeploymentCommand({ deploymentId: first.deploymentId }));
      assert.equal(kept.deploymentStatus, 'ACTIVE');
      assert.equal(kept.isLatestForTarget, true);
      const second = await deploy(s, { targetArn: child, parentTargetArn: parentA, components: HELLO });
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: second.deploymentId }));
      assert.equal(got.revisionId, '2');
    });

    it('successive creates for one target are revisions 1, 2, 3; only the newest is ACTIVE and latest', async () => {
      const group = await newThingGroup(s);
      const ids: string[] = [];
      for (let i = 1; i <= 3; i++) {
        const out = await deploy(s, { targetArn: group, deploymentName: `rev-${i}`, components: HELLO });
        ids.push(out.deploymentId!);
        const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
        assert.equal(got.revisionId, String(i));
        assert.equal(got.deploymentStatus, 'ACTIVE');
        assert.equal(got.isLatestForTarget, true);
        if (i > 1) {
          const replaced = await s.gg.send(new GetDeploymentCommand({ deploymentId: ids[i - 2] }));
          assert.equal(replaced.revisionId, String(i - 1));
          assert.equal(replaced.deploymentStatus, 'INACTIVE');
          assert.equal(replaced.isLatestForTarget, false);
        }
      }
      assert.equal(new Set(ids).size, 3);
      // Revisions count per target: another target starts at 1.
      const other = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId: other.deploymentId }))).revisionId, '1');
    });

    it('20 concurrent creates for one target get revisions 1..20 and exactly one latest', async () => {
      const group = await newThingGroup(s);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => deploy(s, { targetArn: group, deploymentName: `burst-${i}`, components: HELLO })),
      );
      assert.equal(new Set(results.map((r) => r.deploymentId)).size, 20);

      const all = await listAll(s, { historyFilter: 'ALL', targetArn: group });
      assert.equal(all.length, 20);
      const revisions = all.map((d) => Number(d.revisionId)).sort((a, b) => a - b);
      assert.deepEqual(revisions, Array.from({ length: 20 }, (_, i) => i + 1));
      const latest = all.filter((d) => d.isLatestForTarget);
      assert.equal(latest.length, 1);
      assert.equal(latest[0].revisionId, '20');
      assert.equal(latest[0].deploymentStatus, 'ACTIVE');
      assert.ok(all.filter((d) => !d.isLatestForTarget).every((d) => d.deploymentStatus === 'INACTIVE'));
      assert.deepEqual(
        all.map((d) => d.deploymentId).sort(),
        results.map((r) => r.deploymentId).sort(),
      );
    });
  });

  describe(`GetDeployment (${kind})`, () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 14, 9, 26, 53, 589));
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind, { clock });
      await publishComponents(s, PUBLISHED);
    });
    after(() => s.close());

    it('returns only what was sent: no invented defaults for optional members', async () => {
      const group = await newThingGroup(s);
      const out = await deploy(s, { targetArn: group, components: HELLO });
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
      assert.equal(got.deploymentId, out.deploymentId);
      assert.equal(got.targetArn, group);
      assert.equal(got.revisionId, '1');
      assert.equal(got.deploymentStatus, 'ACTIVE');
      assert.equal(got.isLatestForTarget, true);
      assert.deepEqual(got.components, HELLO);
      for (const absent of ['deploymentName', 'deploymentPolicies', 'iotJobConfiguration', 'tags', 'parentTargetArn'] as const) {
        assert.equal(got[absent], undefined, `${absent} was not sent but came back as ${JSON.stringify(got[absent])}`);
      }
    });

    it('a deployment with no components keeps none', async () => {
      const out = await deploy(s, { targetArn: await newThingGroup(s) });
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
      assert.equal(got.components, undefined);
    });

    it('round-trips every member exactly', async () => {
      const parent = await newThingGroup(s);
      const child = await newThingGroup(s);
      const input = {
        targetArn: child,
        parentTargetArn: parent,
        deploymentName: 'everything',
        components: {
          'com.example.Hello': {
            componentVersion: '1.0.0',
            configurationUpdate: { merge: '{"greeting":"hi","nested":{"a":[1,2,{"b":null}]}}', reset: ['', '/old', '/a~1b~0c'] },
            runWith: { posixUser: 'ggc_user:ggc_group', systemResourceLimits: { memory: 102400, cpus: 1.5 } },
          },
          'com.example.Other': { componentVersion: '2.3.4-beta.1+build.7', runWith: { windowsUser: 'WinUser' } },
        },
        deploymentPolicies: {
          failureHandlingPolicy: 'DO_NOTHING' as const,
          componentUpdatePolicy: { timeoutInSeconds: 120, action: 'SKIP_NOTIFY_COMPONENTS' as const },
          configurationValidationPolicy: { timeoutInSeconds: 45 },
        },
        iotJobConfiguration: {
          jobExecutionsRolloutConfig: {
            exponentialRate: { baseRatePerMinute: 10, incrementFactor: 2.5, rateIncreaseCriteria: { numberOfSucceededThings: 5 } },
            maximumPerMinute: 100,
          },
          abortConfig: {
            criteriaList: [
              { failureType: 'FAILED' as const, action: 'CANCEL' as const, thresholdPercentage: 12.5, minNumberOfExecutedThings: 3 },
              { failureType: 'TIMED_OUT' as const, action: 'CANCEL' as const, thresholdPercentage: 100, minNumberOfExecutedThings: 1 },
            ],
          },
          timeoutConfig: { inProgressTimeoutInMinutes: 10080 },
        },
        tags: { team: 'edge', env: 'test', empty: '' },
      };
      const out = await deploy(s, input);
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
      assert.equal(got.targetArn, input.targetArn);
      assert.equal(got.parentTargetArn, input.parentTargetArn);
      assert.equal(got.deploymentName, input.deploymentName);
      assert.deepEqual(got.components, input.components);
      assert.deepEqual(got.deploymentPolicies, input.deploymentPolicies);
      assert.deepEqual(got.iotJobConfiguration, input.iotJobConfiguration);
      assert.deepEqual(got.tags, input.tags);
      assert.equal(got.iotJobId, out.iotJobId);
      assert.equal(got.iotJobArn, out.iotJobArn);
    });

    it('creationTimestamp is a Date at the server clock', async () => {
      const out = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
      assert.ok(got.creationTimestamp instanceof Date);
      assert.equal(got.creationTimestamp.getTime(), clock.now());

      clock.advance(90_500);
      const later = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      const gotLater = await s.gg.send(new GetDeploymentCommand({ deploymentId: later.deploymentId }));
      assert.equal(gotLater.creationTimestamp!.getTime() - got.creationTimestamp.getTime(), 90_500);
    });

    it('of an unknown id is ResourceNotFoundException naming the id', async () => {
      const id = '00000000-0000-4000-8000-000000000000';
      const err = await rejectsWith(s.gg.send(new GetDeploymentCommand({ deploymentId: id })), ResourceNotFoundException);
      assert.equal(err.resourceId, id);
      assert.equal(err.resourceType, 'deployment');
      assert.ok(err.message.includes(id), err.message);
    });
  });

  describe(`creationTimestamp on the system clock (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
      await publishComponents(s, PUBLISHED);
    });
    after(() => s.close());

    it('is a Date taken while the request ran', async () => {
      const from = Date.now();
      const out = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      const to = Date.now();
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
      assert.ok(got.creationTimestamp instanceof Date);
      const t = got.creationTimestamp.getTime();
      assert.ok(t >= from && t <= to, `creationTimestamp ${got.creationTimestamp.toISOString()} is not between ${from} and ${to}`);
    });
  });
}
