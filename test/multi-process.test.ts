// Two meadow processes on one PostgreSQL database keep the guarantees of one: revisions for a target are
// unique and consecutive with exactly one latest, a client token is honoured across processes, and a component
// published through one process can be deployed through the other.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateDeploymentCommand, GreengrassV2Client, ListDeploymentsCommand, paginateListDeployments } from '@aws-sdk/client-greengrassv2';
import { CreateThingGroupCommand, IoTClient } from '@aws-sdk/client-iot';
import { createDatabase, POSTGRES_URL } from './helpers/databases.js';
import { publishComponents } from './helpers/greengrass.js';
import { spawnMeadow, type MeadowProcess } from './helpers/process.js';
import { clientConfig, TEST_CREDENTIALS } from './helpers/server.js';

/** Deployments of one target created at once: the i-th deploys com.example.A 1.0.i. */
const N = 40;

describe('two meadow processes on one PostgreSQL database', { skip: POSTGRES_URL ? false : 'needs MEADOW_TEST_DATABASE_URL' }, () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let a: MeadowProcess;
  let b: MeadowProcess;
  let ggA: GreengrassV2Client;
  let ggB: GreengrassV2Client;

  before(async () => {
    db = await createDatabase();
    const env = {
      MEADOW_DATABASE_URL: db.url,
      MEADOW_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      MEADOW_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    };
    // Started together, so both run migrations at the same moment too.
    [a, b] = await Promise.all([spawnMeadow({ ...env, MEADOW_DATA_DIR: '/tmp/meadow-mp-a' }), spawnMeadow({ ...env, MEADOW_DATA_DIR: '/tmp/meadow-mp-b' })]);
    ggA = new GreengrassV2Client(clientConfig(a.endpoint));
    ggB = new GreengrassV2Client(clientConfig(b.endpoint));
    // Each version is published through the process that will not deploy it (deployment i goes through A when i is even).
    for (let i = 0; i < N; i++) await publishComponents({ gg: i % 2 === 0 ? ggB : ggA }, [`com.example.A@1.0.${i}`]);
  });

  after(async () => {
    ggA?.destroy();
    ggB?.destroy();
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('serializes revisions for one target created through both processes at once', async () => {
    const iot = new IoTClient(clientConfig(a.endpoint));
    const { thingGroupArn } = await iot.send(new CreateThingGroupCommand({ thingGroupName: 'shared-fleet' }));
    iot.destroy();
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        (i % 2 === 0 ? ggA : ggB).send(
          new CreateDeploymentCommand({ targetArn: thingGroupArn, deploymentName: `rev-${i}`, components: { 'com.example.A': { componentVersion: `1.0.${i}` } } }),
        ),
      ),
    );
    assert.equal(new Set(results.map((r) => r.deploymentId)).size, N);

    const all = [];
    for await (const page of paginateListDeployments({ client: ggB, pageSize: 7 }, { targetArn: thingGroupArn, historyFilter: 'ALL' })) {
      all.push(...(page.deployments ?? []));
    }
    assert.equal(all.length, N);
    const revisions = all.map((d) => Number(d.revisionId)).sort((x, y) => x - y);
    assert.deepEqual(revisions, Array.from({ length: N }, (_, i) => i + 1));
    const latest = all.filter((d) => d.isLatestForTarget);
    assert.equal(latest.length, 1);
    assert.equal(latest[0].revisionId, String(N));
    assert.equal(latest[0].deploymentStatus, 'ACTIVE');
    assert.ok(all.filter((d) => !d.isLatestForTarget).every((d) => d.deploymentStatus === 'INACTIVE'));

    const viaA = await ggA.send(new ListDeploymentsCommand({ targetArn: thingGroupArn }));
    assert.deepEqual(viaA.deployments?.map((d) => d.deploymentId), [latest[0].deploymentId]);
  });

  it('honours one client token sent to both processes at once', async () => {
    const iot = new IoTClient(clientConfig(b.endpoint));
    const { thingGroupArn } = await iot.send(new CreateThingGroupCommand({ thingGroupName: 'token-fleet' }));
    iot.destroy();
    const input = { targetArn: thingGroupArn, clientToken: 'shared-token-1', components: { 'com.example.A': { componentVersion: '1.0.0' } } };
    const outcomes = await Promise.allSettled([ggA, ggB, ggA, ggB].map((c) => c.send(new CreateDeploymentCommand(input))));
    const ok = outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<any>).value.deploymentId);
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.name);
    assert.ok(ok.length >= 1, 'at least one request succeeds');
    assert.equal(new Set(ok).size, 1, 'every success returns the same deployment');
    assert.ok(refused.every((n) => n === 'RequestAlreadyInProgressException'), `only in-progress refusals, got ${refused}`);
    const listed = await ggA.send(new ListDeploymentsCommand({ targetArn: thingGroupArn, historyFilter: 'ALL' }));
    assert.equal(listed.deployments?.length, 1);
    // Once the first has finished, a repeat gets the cached response from either process.
    const again = await ggB.send(new CreateDeploymentCommand(input));
    assert.equal(again.deploymentId, ok[0]);
  });
});
