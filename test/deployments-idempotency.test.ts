// CreateDeployment clientToken idempotency: repeats return the first response, a reused token with another body
// conflicts, a repeat during the first request is RequestAlreadyInProgress, failures are not remembered, and
// remembered responses expire after 8 hours.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConflictException,
  GetDeploymentCommand,
  RequestAlreadyInProgressException,
  ResourceNotFoundException,
  ValidationException,
  type CreateDeploymentCommandInput,
} from '@aws-sdk/client-greengrassv2';
import { ManualClock } from '../src/core/clock.js';
import type { Store } from '../src/store/store.js';
import { STORE_KINDS } from './helpers/databases.js';
import { allDeploymentIds, deploy, listAll, newThingGroup, publishComponents, rejectsWith, uniqueName } from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const HELLO = { 'com.example.Hello': { componentVersion: '1.0.0' } };
/** HELLO, and the version a "different body" deploys instead: both deployable, so only the token is at issue. */
const PUBLISHED = ['com.example.Hello@1.0.0', 'com.example.Hello@1.0.1'];
const token = () => uniqueName('token');

/**
 * Holds the next store transaction until released. CreateDeployment claims its clientToken before it opens its
 * transaction, so a request held here is exactly "still being processed".
 */
class TransactionGate {
  private next?: { entered: () => void; released: Promise<void> };

  arm(): { entered: Promise<void>; release: () => void } {
    let entered!: () => void;
    let release!: () => void;
    const enteredP = new Promise<void>((r) => (entered = r));
    const released = new Promise<void>((r) => (release = r));
    this.next = { entered, released };
    return { entered: enteredP, release };
  }

  wrap = (store: Store): Store =>
    new Proxy(store, {
      get: (target, prop) => {
        if (prop === 'transaction') {
          return async <T>(fn: (tx: Store) => Promise<T>): Promise<T> => {
            const held = this.next;
            this.next = undefined;
            if (held) {
              held.entered();
              await held.released;
            }
            return target.transaction(fn);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
}

for (const kind of STORE_KINDS) {
  describe(`CreateDeployment clientToken (${kind})`, () => {
    const gate = new TransactionGate();
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind, { wrapStore: gate.wrap });
      await publishComponents(s, PUBLISHED);
    });
    after(() => s.close());

    it('the same token and body twice return the same deployment and create only one', async () => {
      const group = await newThingGroup(s);
      const input = { targetArn: group, components: HELLO, deploymentName: 'once', tags: { a: '1', b: '2' }, clientToken: token() };
      const first = await deploy(s, input);
      // Same request with its map keys in another order: still the same request.
      const second = await deploy(s, { ...input, tags: { b: '2', a: '1' } });
      assert.equal(second.deploymentId, first.deploymentId);
      assert.equal(second.iotJobId, first.iotJobId);
      assert.equal(second.iotJobArn, first.iotJobArn);
      const all = await listAll(s, { historyFilter: 'ALL', targetArn: group });
      assert.deepEqual(all.map((d) => d.deploymentId), [first.deploymentId]);
      assert.equal(all[0].revisionId, '1');
    });

    it('a repeat after the target got a newer revision still returns the first response and creates nothing', async () => {
      const group = await newThingGroup(s);
      const input = { targetArn: group, components: HELLO, clientToken: token() };
      const first = await deploy(s, input);
      await deploy(s, { targetArn: group, components: HELLO });
      const before = await allDeploymentIds(s);
      const repeat = await deploy(s, input);
      assert.equal(repeat.deploymentId, first.deploymentId);
      assert.deepEqual(await allDeploymentIds(s), before);
    });

    it('the same token with a different body is ConflictException saying the token was used for another request', async () => {
      const group = await newThingGroup(s);
      const clientToken = token();
      const first = await deploy(s, { targetArn: group, components: HELLO, clientToken });
      const before = await allDeploymentIds(s);
      const err = await rejectsWith(
        deploy(s, { targetArn: group, components: { 'com.example.Hello': { componentVersion: '1.0.1' } }, clientToken }),
        ConflictException,
      );
      assert.equal(err.resourceId, clientToken);
      assert.equal(err.resourceType, 'clientToken');
      assert.ok(err.message.includes(clientToken), err.message);
      assert.match(err.message, /already used for a different CreateDeployment request/);
      assert.equal(err.$metadata.httpStatusCode, 409);
      assert.deepEqual(await allDeploymentIds(s), before);
      // The token still answers its own request.
      assert.equal((await deploy(s, { targetArn: group, components: HELLO, clientToken })).deploymentId, first.deploymentId);
    });

    it('a token is per request, not per target: the same body with another token is a new revision', async () => {
      const group = await newThingGroup(s);
      const a = await deploy(s, { targetArn: group, components: HELLO, clientToken: token() });
      const b = await deploy(s, { targetArn: group, components: HELLO, clientToken: token() });
      assert.notEqual(a.deploymentId, b.deploymentId);
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId: b.deploymentId }))).revisionId, '2');
    });

    it('a repeat while the first request is still being processed is RequestAlreadyInProgressException', async () => {
      const group = await newThingGroup(s);
      const clientToken = token();
      const input: CreateDeploymentCommandInput = { targetArn: group, components: HELLO, clientToken };
      const held = gate.arm();
      const first = deploy(s, input);
      await held.entered;
      try {
        const err = await rejectsWith(deploy(s, input), RequestAlreadyInProgressException);
        assert.ok(err.message.includes(clientToken), err.message);
        assert.match(err.message, /still being processed/);
        assert.equal(err.$metadata.httpStatusCode, 400);
        // A different body with the held token is refused the same way: the first request owns the token.
        await rejectsWith(deploy(s, { ...input, deploymentName: 'other' }), RequestAlreadyInProgressException);
        assert.deepEqual(await listAll(s, { historyFilter: 'ALL', targetArn: group }), []);
      } finally {
        held.release();
      }
      const done = await first;
      assert.ok(done.deploymentId);
      const later = await deploy(s, input);
      assert.equal(later.deploymentId, done.deploymentId);
      const all = await listAll(s, { historyFilter: 'ALL', targetArn: group });
      assert.deepEqual(all.map((d) => d.deploymentId), [done.deploymentId]);
    });

    it('concurrent repeats of one token create exactly one deployment', async () => {
      const group = await newThingGroup(s);
      const input = { targetArn: group, components: HELLO, clientToken: token() };
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => deploy(s, input)));
      const ids = new Set<string>();
      for (const r of results) {
        if (r.status === 'fulfilled') ids.add(r.value.deploymentId!);
        else assert.ok(r.reason instanceof RequestAlreadyInProgressException, `unexpected ${r.reason?.name}: ${r.reason?.message}`);
      }
      assert.equal(ids.size, 1, 'every request that succeeded returned the same deployment');
      const all = await listAll(s, { historyFilter: 'ALL', targetArn: group });
      assert.deepEqual(all.map((d) => d.deploymentId), [...ids]);
      assert.equal((await deploy(s, input)).deploymentId, [...ids][0]);
    });

    it('a failed request is not remembered: after creating the missing target, the same token succeeds', async () => {
      const name = uniqueName('later');
      const targetArn = `arn:aws:iot:us-east-1:123456789012:thinggroup/${name}`;
      const input = { targetArn, components: HELLO, clientToken: token() };
      await rejectsWith(deploy(s, input), ResourceNotFoundException);
      // Retrying before the fix fails the same way, not as "in progress" or "conflict".
      await rejectsWith(deploy(s, input), ResourceNotFoundException);
      assert.equal(await newThingGroup(s, name), targetArn);
      const ok = await deploy(s, input);
      assert.ok(ok.deploymentId);
      assert.equal((await deploy(s, input)).deploymentId, ok.deploymentId);
      assert.equal((await listAll(s, { historyFilter: 'ALL', targetArn })).length, 1);
    });

    it('a request refused by validation does not take the token', async () => {
      const group = await newThingGroup(s);
      const clientToken = token();
      await rejectsWith(deploy(s, { targetArn: group, components: { 'com.example.Hello': { componentVersion: 'one' } }, clientToken }), ValidationException);
      const ok = await deploy(s, { targetArn: group, components: HELLO, clientToken });
      assert.ok(ok.deploymentId);
    });

    it('a clientToken that breaks its pattern is ValidationException', async () => {
      const err = await rejectsWith(deploy(s, { targetArn: await newThingGroup(s), components: HELLO, clientToken: 'not_allowed!' }), ValidationException);
      assert.equal(err.fields?.[0]?.name, 'clientToken');
    });
  });

  describe(`clientToken expiry (${kind})`, () => {
    const clock = new ManualClock();
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind, { clock });
      await publishComponents(s, PUBLISHED);
    });
    after(() => s.close());

    it('a successful response is remembered for 8 hours, then the token is new again', async () => {
      const group = await newThingGroup(s);
      const input = { targetArn: group, components: HELLO, clientToken: token() };
      const first = await deploy(s, input);
      clock.advance(8 * 60 * 60 * 1000 - 1000);
      assert.equal((await deploy(s, input)).deploymentId, first.deploymentId);
      clock.advance(2000);
      const fresh = await deploy(s, input);
      assert.notEqual(fresh.deploymentId, first.deploymentId);
      assert.equal((await s.gg.send(new GetDeploymentCommand({ deploymentId: fresh.deploymentId }))).revisionId, '2');
      // ...and is remembered afresh from then on.
      assert.equal((await deploy(s, input)).deploymentId, fresh.deploymentId);
    });
  });
}
