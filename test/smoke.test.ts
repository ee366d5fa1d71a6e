import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateDeploymentCommand, GetDeploymentCommand, ListDeploymentsCommand } from '@aws-sdk/client-greengrassv2';
import { AddThingToThingGroupCommand, CreateThingCommand, CreateThingGroupCommand } from '@aws-sdk/client-iot';
import { STORE_KINDS } from './helpers/databases.js';
import { publishComponent } from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';

for (const kind of STORE_KINDS) {
  describe(`smoke (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
    });
    after(() => s.close());

    it('publishes a component, creates a group, a thing in it, and a deployment of the component', async () => {
      const published = await publishComponent(s, 'com.example.Hello', '1.0.0');
      assert.equal(published.arn, 'arn:aws:greengrass:us-east-1:123456789012:components:com.example.Hello:versions:1.0.0');
      assert.equal(published.status?.componentState, 'DEPLOYABLE');
      const g = await s.iot.send(new CreateThingGroupCommand({ thingGroupName: 'fleet' }));
      await s.iot.send(new CreateThingCommand({ thingName: 'core-1' }));
      await s.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'fleet', thingName: 'core-1' }));
      const d = await s.gg.send(
        new CreateDeploymentCommand({ targetArn: g.thingGroupArn, deploymentName: 'first', components: { 'com.example.Hello': { componentVersion: '1.0.0' } } }),
      );
      assert.ok(d.deploymentId);
      assert.match(d.iotJobArn!, /^arn:aws:iot:us-east-1:123456789012:job\//);
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: d.deploymentId }));
      assert.equal(got.revisionId, '1');
      assert.equal(got.deploymentStatus, 'ACTIVE');
      assert.ok(got.creationTimestamp instanceof Date);
      const list = await s.gg.send(new ListDeploymentsCommand({}));
      assert.equal(list.deployments?.length, 1);
    });
  });
}
