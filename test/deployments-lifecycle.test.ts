// CancelDeployment and DeleteDeployment (which statuses allow what), and tags on deployment ARNs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CancelDeploymentCommand,
  ConflictException,
  DeleteDeploymentCommand,
  GetDeploymentCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  ValidationException,
} from '@aws-sdk/client-greengrassv2';
import { STORE_KINDS } from './helpers/databases.js';
import {
  ACCOUNT,
  REGION,
  deploy,
  deploymentArnOf,
  fieldViolation,
  listAll,
  newThing,
  newThingGroup,
  publishComponents,
  rejectsWith,
} from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const HELLO = { 'com.example.Hello': { componentVersion: '1.0.0' } };
const UNKNOWN_ID = '11111111-2222-4333-8444-555555555555';

for (const kind of STORE_KINDS) {
  describe(`CancelDeployment and DeleteDeployment (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
      await publishComponents(s, ['com.example.Hello@1.0.0']);
    });
    after(() => s.close());

    const get = (deploymentId: string) => s.gg.send(new GetDeploymentCommand({ deploymentId }));
    const cancel = (deploymentId: string) => s.gg.send(new CancelDeploymentCommand({ deploymentId }));
    const remove = (deploymentId: string) => s.gg.send(new DeleteDeploymentCommand({ deploymentId }));

    it('cancels an ACTIVE deployment with a message; it stays the latest for its target', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      const out = await cancel(deploymentId!);
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.ok(out.message?.includes(deploymentId!), out.message);
      assert.match(out.message!, /canceled/);
      const got = await get(deploymentId!);
      assert.equal(got.deploymentStatus, 'CANCELED');
      assert.equal(got.isLatestForTarget, true);
    });

    it('a thing deployment can be canceled too', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThing(s), components: HELLO });
      await cancel(deploymentId!);
      assert.equal((await get(deploymentId!)).deploymentStatus, 'CANCELED');
    });

    it('canceling twice is ConflictException saying it is already canceled', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      await cancel(deploymentId!);
      const err = await rejectsWith(cancel(deploymentId!), ConflictException);
      assert.equal(err.resourceId, deploymentId);
      assert.equal(err.resourceType, 'deployment');
      assert.match(err.message, /already canceled/);
      assert.equal(err.$metadata.httpStatusCode, 409);
      assert.equal((await get(deploymentId!)).deploymentStatus, 'CANCELED');
    });

    it('canceling a replaced (INACTIVE) revision is ConflictException saying why', async () => {
      const group = await newThingGroup(s);
      const first = await deploy(s, { targetArn: group, components: HELLO });
      const second = await deploy(s, { targetArn: group, components: HELLO });
      const err = await rejectsWith(cancel(first.deploymentId!), ConflictException);
      assert.equal(err.resourceId, first.deploymentId);
      assert.equal(err.resourceType, 'deployment');
      assert.match(err.message, /replaced by a newer revision/);
      assert.equal((await get(first.deploymentId!)).deploymentStatus, 'INACTIVE');
      assert.equal((await get(second.deploymentId!)).deploymentStatus, 'ACTIVE');
    });

    it('canceling an unknown deployment is ResourceNotFoundException', async () => {
      const err = await rejectsWith(cancel(UNKNOWN_ID), ResourceNotFoundException);
      assert.equal(err.resourceId, UNKNOWN_ID);
      assert.equal(err.resourceType, 'deployment');
    });

    it('a new revision after a cancel leaves the canceled one CANCELED and no longer latest', async () => {
      const group = await newThingGroup(s);
      const first = await deploy(s, { targetArn: group, components: HELLO });
      await cancel(first.deploymentId!);
      const second = await deploy(s, { targetArn: group, components: HELLO });
      const old = await get(first.deploymentId!);
      assert.equal(old.deploymentStatus, 'CANCELED');
      assert.equal(old.isLatestForTarget, false);
      const now = await get(second.deploymentId!);
      assert.equal(now.revisionId, '2');
      assert.equal(now.deploymentStatus, 'ACTIVE');
      assert.equal(now.isLatestForTarget, true);
    });

    it('deleting an ACTIVE deployment is ConflictException telling to cancel first; nothing is deleted', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      const err = await rejectsWith(remove(deploymentId!), ConflictException);
      assert.equal(err.resourceId, deploymentId);
      assert.equal(err.resourceType, 'deployment');
      assert.match(err.message, /ACTIVE/);
      assert.match(err.message, /CancelDeployment/);
      assert.equal((await get(deploymentId!)).deploymentStatus, 'ACTIVE');
    });

    it('deletes a CANCELED deployment: then it is gone from Get and List', async () => {
      const group = await newThingGroup(s);
      const { deploymentId } = await deploy(s, { targetArn: group, components: HELLO });
      await cancel(deploymentId!);
      const out = await remove(deploymentId!);
      assert.equal(out.$metadata.httpStatusCode, 204);
      const err = await rejectsWith(get(deploymentId!), ResourceNotFoundException);
      assert.equal(err.resourceId, deploymentId);
      assert.deepEqual(await listAll(s, { historyFilter: 'ALL', targetArn: group }), []);
      // Revisions keep counting for the target: a deleted revision number is not handed out again.
      const next = await deploy(s, { targetArn: group, components: HELLO });
      assert.equal((await get(next.deploymentId!)).revisionId, '2');
    });

    it('deletes an INACTIVE deployment and leaves the latest one alone', async () => {
      const group = await newThingGroup(s);
      const first = await deploy(s, { targetArn: group, components: HELLO });
      const second = await deploy(s, { targetArn: group, components: HELLO });
      await remove(first.deploymentId!);
      await rejectsWith(get(first.deploymentId!), ResourceNotFoundException);
      const left = await listAll(s, { historyFilter: 'ALL', targetArn: group });
      assert.deepEqual(left.map((d) => d.deploymentId), [second.deploymentId]);
      assert.equal(left[0].deploymentStatus, 'ACTIVE');
      assert.equal(left[0].isLatestForTarget, true);
    });

    it('of concurrent cancels of one deployment exactly one succeeds, the rest are ConflictException', async () => {
      for (let round = 0; round < 3; round++) {
        const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
        const results = await Promise.allSettled(Array.from({ length: 8 }, () => cancel(deploymentId!)));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) {
          if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictException, `${r.reason?.name}: ${r.reason?.message}`);
        }
        assert.equal((await get(deploymentId!)).deploymentStatus, 'CANCELED');
      }
    });

    it('a cancel racing a new revision is either applied or refused, never lost', async () => {
      for (let round = 0; round < 6; round++) {
        const group = await newThingGroup(s);
        const first = await deploy(s, { targetArn: group, components: HELLO });
        const [revised, canceled] = await Promise.allSettled([deploy(s, { targetArn: group, components: HELLO }), cancel(first.deploymentId!)]);
        assert.equal(revised.status, 'fulfilled');
        const old = await get(first.deploymentId!);
        assert.equal(old.isLatestForTarget, false);
        if (canceled.status === 'fulfilled') {
          assert.equal(old.deploymentStatus, 'CANCELED'); // canceled first, then replaced: it stays canceled
        } else {
          assert.ok(canceled.reason instanceof ConflictException, `${canceled.reason?.name}: ${canceled.reason?.message}`);
          assert.equal(old.deploymentStatus, 'INACTIVE'); // replaced first: nothing left to cancel
        }
        const latest = await listAll(s, { targetArn: group });
        assert.equal(latest.length, 1);
        assert.equal(latest[0].deploymentStatus, 'ACTIVE');
        assert.equal(latest[0].revisionId, '2');
      }
    });

    it('deleting twice, or an unknown deployment, is ResourceNotFoundException', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      await cancel(deploymentId!);
      await remove(deploymentId!);
      for (const id of [deploymentId!, UNKNOWN_ID]) {
        const err = await rejectsWith(remove(id), ResourceNotFoundException);
        assert.equal(err.resourceId, id);
        assert.equal(err.resourceType, 'deployment');
        assert.ok(err.message.includes(id), err.message);
      }
    });
  });

  describe(`tags on deployments (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
      await publishComponents(s, ['com.example.Hello@1.0.0']);
    });
    after(() => s.close());

    const tagsOf = async (resourceArn: string) => (await s.gg.send(new ListTagsForResourceCommand({ resourceArn }))).tags;

    it('tags given at create are listed and returned by GetDeployment', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO, tags: { team: 'edge', env: 'test' } });
      assert.deepEqual(await tagsOf(deploymentArnOf(deploymentId!)), { env: 'test', team: 'edge' });
      assert.deepEqual((await s.gg.send(new GetDeploymentCommand({ deploymentId }))).tags, { env: 'test', team: 'edge' });
    });

    it('TagResource adds and overwrites, UntagResource removes, ListTagsForResource shows each step', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO, tags: { team: 'edge' } });
      const arn = deploymentArnOf(deploymentId!);
      await s.gg.send(new TagResourceCommand({ resourceArn: arn, tags: { team: 'platform', cost: '42', note: '' } }));
      assert.deepEqual(await tagsOf(arn), { cost: '42', note: '', team: 'platform' });
      await s.gg.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['cost', 'not-there'] }));
      assert.deepEqual(await tagsOf(arn), { note: '', team: 'platform' });
      await s.gg.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['note', 'team'] }));
      assert.deepEqual(await tagsOf(arn), {});
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId }))).tags, undefined);
    });

    it('more than 200 tags on one deployment is ValidationException naming tags, and changes nothing', async () => {
      const some = (prefix: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO, tags: some('a', 150) });
      const arn = deploymentArnOf(deploymentId!);
      const err = await rejectsWith(s.gg.send(new TagResourceCommand({ resourceArn: arn, tags: some('b', 51) })), ValidationException);
      fieldViolation(err, 'tags');
      assert.match(err.message, /at most 200 tags/);
      assert.equal(Object.keys((await tagsOf(arn))!).length, 150);
      // Overwriting keys it already has does not count twice; reaching exactly 200 is allowed.
      await s.gg.send(new TagResourceCommand({ resourceArn: arn, tags: { ...some('a', 10), ...some('b', 50) } }));
      assert.equal(Object.keys((await tagsOf(arn))!).length, 200);
    });

    it('tags stay with their deployment: another deployment on the same target has its own', async () => {
      const group = await newThingGroup(s);
      const first = await deploy(s, { targetArn: group, components: HELLO, tags: { rev: '1' } });
      const second = await deploy(s, { targetArn: group, components: HELLO });
      assert.deepEqual(await tagsOf(deploymentArnOf(first.deploymentId!)), { rev: '1' });
      assert.deepEqual(await tagsOf(deploymentArnOf(second.deploymentId!)), {});
    });

    it('tag operations on an unknown deployment ARN are ResourceNotFoundException naming the ARN', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
      const unknown = [
        deploymentArnOf(UNKNOWN_ID),
        deploymentArnOf(deploymentId!, '999999999999', REGION), // exists, but not in this account
        deploymentArnOf(deploymentId!, ACCOUNT, 'eu-west-1'), //  nor in this region
      ];
      for (const resourceArn of unknown) {
        for (const request of [
          () => s.gg.send(new TagResourceCommand({ resourceArn, tags: { a: 'b' } })),
          () => s.gg.send(new UntagResourceCommand({ resourceArn, tagKeys: ['a'] })),
          () => s.gg.send(new ListTagsForResourceCommand({ resourceArn })),
        ]) {
          const err = await rejectsWith(request(), ResourceNotFoundException);
          assert.equal(err.resourceId, resourceArn);
          assert.ok(err.message.includes(resourceArn), err.message);
        }
      }
      // Nothing was written under the foreign ARNs.
      for (const resourceArn of unknown) assert.deepEqual(await s.store.getTags({ accountId: ACCOUNT, region: REGION }, resourceArn), {});
    });

    it('a resourceArn that is not a Greengrass ARN is ValidationException naming resourceArn', async () => {
      const err = await rejectsWith(
        s.gg.send(new TagResourceCommand({ resourceArn: 'arn:aws:iot:us-east-1:123456789012:thing/x', tags: { a: 'b' } })),
        ValidationException,
      );
      fieldViolation(err, 'resourceArn');
    });

    it('tags written while the deployment is being deleted do not outlive it', async () => {
      for (let round = 0; round < 3; round++) {
        const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO });
        const arn = deploymentArnOf(deploymentId!);
        await s.gg.send(new CancelDeploymentCommand({ deploymentId }));
        const results = await Promise.allSettled([
          ...Array.from({ length: 4 }, (_, i) => s.gg.send(new TagResourceCommand({ resourceArn: arn, tags: { [`k${i}`]: 'v' } }))),
          s.gg.send(new DeleteDeploymentCommand({ deploymentId })),
          ...Array.from({ length: 4 }, (_, i) => s.gg.send(new TagResourceCommand({ resourceArn: arn, tags: { [`late${i}`]: 'v' } }))),
        ]);
        for (const r of results) {
          if (r.status === 'rejected') assert.ok(r.reason instanceof ResourceNotFoundException, `${r.reason?.name}: ${r.reason?.message}`);
        }
        assert.equal(results[4].status, 'fulfilled', 'the delete itself succeeds');
        assert.deepEqual(await s.store.getTags({ accountId: ACCOUNT, region: REGION }, arn), {});
      }
    });

    it('deleting a deployment removes its tags', async () => {
      const { deploymentId } = await deploy(s, { targetArn: await newThingGroup(s), components: HELLO, tags: { team: 'edge' } });
      const arn = deploymentArnOf(deploymentId!);
      await s.gg.send(new TagResourceCommand({ resourceArn: arn, tags: { more: 'yes' } }));
      await s.gg.send(new CancelDeploymentCommand({ deploymentId }));
      await s.gg.send(new DeleteDeploymentCommand({ deploymentId }));
      await rejectsWith(s.gg.send(new ListTagsForResourceCommand({ resourceArn: arn })), ResourceNotFoundException);
      // Checked in the store itself: the API cannot show tags of a resource that no longer exists.
      assert.deepEqual(await s.store.getTags({ accountId: ACCOUNT, region: REGION }, arn), {});
    });
  });
}
