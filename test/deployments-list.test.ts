// ListDeployments: history filter, target and parent filters, newest-first order, and pagination (by hand and
// through the SDK paginator), on a server of its own so every count is exact.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ListDeploymentsCommand, ValidationException, type Deployment } from '@aws-sdk/client-greengrassv2';
import { ListThingsCommand } from '@aws-sdk/client-iot';
import { STORE_KINDS } from './helpers/databases.js';
import { deploy, fieldViolation, listAll, newThing, newThingGroup, publishComponents, rejectsWith } from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const HELLO = { 'com.example.Hello': { componentVersion: '1.0.0' } };
const ids = (ds: Deployment[]) => ds.map((d) => d.deploymentId);

for (const kind of STORE_KINDS) {
  describe(`ListDeployments (${kind})`, () => {
    let s: TestServer;
    let groupA: string;
    let groupB: string;
    let thing: string;
    let parent: string;
    let child: string;
    /** Every deployment in creation order, with its target. */
    const created: { id: string; target: string }[] = [];

    const create = async (target: string, parentTargetArn?: string) => {
      const out = await deploy(s, { targetArn: target, parentTargetArn, components: HELLO });
      created.push({ id: out.deploymentId!, target });
    };
    const newestFirst = (keep: (c: { id: string; target: string }, i: number) => boolean) =>
      created.filter(keep).map((c) => c.id).reverse();
    /** Latest revision of each target: the last created for it. */
    const isLatest = (c: { id: string; target: string }, i: number) => !created.slice(i + 1).some((later) => later.target === c.target);

    before(async () => {
      s = await startTestServer(kind);
      await publishComponents(s, ['com.example.Hello@1.0.0']);
      [groupA, groupB, thing, parent, child] = [
        await newThingGroup(s, 'list-a'),
        await newThingGroup(s, 'list-b'),
        await newThing(s, 'list-thing'),
        await newThingGroup(s, 'list-parent'),
        await newThingGroup(s, 'list-child'),
      ];
      // Interleaved so that newest-first by creation differs from any order by target or revision.
      await create(groupA);
      await create(groupB);
      await create(groupA);
      await create(thing);
      await create(child, parent);
      await create(groupB);
      await create(groupA);
      await create(child, parent);
    });
    after(() => s.close());

    it('defaults to LATEST_ONLY: one deployment per target, newest first', async () => {
      const out = await s.gg.send(new ListDeploymentsCommand({}));
      assert.equal(out.nextToken, undefined);
      assert.deepEqual(ids(out.deployments!), newestFirst(isLatest));
      assert.equal(out.deployments!.length, 4);
      assert.ok(out.deployments!.every((d) => d.isLatestForTarget && d.deploymentStatus === 'ACTIVE'));
      assert.deepEqual(ids((await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'LATEST_ONLY' }))).deployments!), ids(out.deployments!));
    });

    it('ALL lists every revision, newest first, with its summary', async () => {
      const out = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL' }));
      assert.deepEqual(ids(out.deployments!), newestFirst(() => true));
      const firstOfA = out.deployments!.find((d) => d.deploymentId === created[0].id)!;
      assert.equal(firstOfA.targetArn, groupA);
      assert.equal(firstOfA.revisionId, '1');
      assert.equal(firstOfA.deploymentStatus, 'INACTIVE');
      assert.equal(firstOfA.isLatestForTarget, false);
      assert.ok(firstOfA.creationTimestamp instanceof Date);
      const times = out.deployments!.map((d) => d.creationTimestamp!.getTime());
      assert.deepEqual(times, [...times].sort((a, b) => b - a), 'creationTimestamp is not newest first');
    });

    it('filters by targetArn', async () => {
      const all = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL', targetArn: groupA }));
      assert.deepEqual(ids(all.deployments!), newestFirst((c) => c.target === groupA));
      assert.deepEqual(all.deployments!.map((d) => d.revisionId), ['3', '2', '1']);
      assert.ok(all.deployments!.every((d) => d.targetArn === groupA));

      const latest = await s.gg.send(new ListDeploymentsCommand({ targetArn: groupA }));
      assert.deepEqual(ids(latest.deployments!), [created[6].id]);

      const ofThing = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL', targetArn: thing }));
      assert.deepEqual(ids(ofThing.deployments!), [created[3].id]);

      const none = await s.gg.send(new ListDeploymentsCommand({ targetArn: 'arn:aws:iot:us-east-1:123456789012:thinggroup/never-deployed' }));
      assert.deepEqual(none.deployments, []);
    });

    it('filters by parentTargetArn', async () => {
      const all = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL', parentTargetArn: parent }));
      assert.deepEqual(ids(all.deployments!), newestFirst((c) => c.target === child));
      assert.ok(all.deployments!.every((d) => d.parentTargetArn === parent && d.targetArn === child));

      const latest = await s.gg.send(new ListDeploymentsCommand({ parentTargetArn: parent }));
      assert.deepEqual(ids(latest.deployments!), [created[7].id]);

      const notAParent = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL', parentTargetArn: groupA }));
      assert.deepEqual(notAParent.deployments, []);
    });

    it('pages by hand: every item once, a fresh token per page, none on the last page', async () => {
      const everything = ids((await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL' }))).deployments!);
      for (const maxResults of [1, 3, 4, 8, 100]) {
        const seen: string[] = [];
        const tokens = new Set<string>();
        let nextToken: string | undefined;
        let pages = 0;
        do {
          const out = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL', maxResults, nextToken }));
          pages++;
          assert.ok(out.deployments!.length <= maxResults);
          seen.push(...ids(out.deployments!).map(String));
          nextToken = out.nextToken;
          if (nextToken !== undefined) {
            assert.ok(!tokens.has(nextToken), `token ${nextToken} was handed out twice`);
            tokens.add(nextToken);
            assert.equal(out.deployments!.length, maxResults, 'a page before the last must be full');
          }
        } while (nextToken !== undefined);
        assert.deepEqual(seen, everything, `maxResults ${maxResults}`);
        assert.equal(pages, Math.max(1, Math.ceil(everything.length / maxResults)), `maxResults ${maxResults}`);
      }
    });

    it('pages through the SDK paginator, with filters', async () => {
      assert.deepEqual(ids(await listAll(s, { historyFilter: 'ALL' }, 3)), newestFirst(() => true));
      assert.deepEqual(ids(await listAll(s, {}, 1)), newestFirst(isLatest));
      assert.deepEqual(ids(await listAll(s, { historyFilter: 'ALL', targetArn: groupB }, 1)), newestFirst((c) => c.target === groupB));
    });

    it('a deployment created between pages neither repeats nor hides the earlier ones', async () => {
      const first = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL', maxResults: 3 }));
      const extraTarget = await newThingGroup(s, 'list-extra');
      await create(extraTarget);
      const seen = [...ids(first.deployments!)];
      let nextToken = first.nextToken;
      while (nextToken) {
        const out = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL', maxResults: 3, nextToken }));
        seen.push(...ids(out.deployments!));
        nextToken = out.nextToken;
      }
      // The chain started before the new deployment, so it lists exactly the ones that existed then.
      assert.deepEqual(seen, newestFirst((c) => c.target !== extraTarget));
    });

    it('a garbage nextToken is ValidationException naming nextToken', async () => {
      for (const nextToken of ['garbage', 'eyJvIjoiTGlzdERlcGxveW1lbnRzIn0', '%%%']) {
        const err = await rejectsWith(s.gg.send(new ListDeploymentsCommand({ nextToken })), ValidationException);
        fieldViolation(err, 'nextToken', { validatorWording: false });
        assert.equal(err.$metadata.httpStatusCode, 400);
      }
    });

    it("another operation's nextToken is ValidationException", async () => {
      await newThing(s, 'list-thing-2');
      const token = (await s.iot.send(new ListThingsCommand({ maxResults: 1 }))).nextToken;
      assert.ok(token, 'ListThings should page with two things and maxResults 1');
      const err = await rejectsWith(s.gg.send(new ListDeploymentsCommand({ nextToken: token })), ValidationException);
      fieldViolation(err, 'nextToken', { validatorWording: false });
      assert.ok(err.message.includes('ListDeployments'), err.message);
    });

    it('maxResults outside 1..100 is ValidationException naming maxResults', async () => {
      for (const maxResults of [0, 101, -1]) {
        const err = await rejectsWith(s.gg.send(new ListDeploymentsCommand({ maxResults })), ValidationException);
        const field = fieldViolation(err, 'maxResults');
        assert.match(field.message!, maxResults > 100 ? /less than or equal to 100/ : /greater than or equal to 1/);
      }
    });

    it('an unknown historyFilter is ValidationException naming historyFilter', async () => {
      const err = await rejectsWith(s.gg.send(new ListDeploymentsCommand({ historyFilter: 'SOME' as never })), ValidationException);
      fieldViolation(err, 'historyFilter');
    });
  });
}
