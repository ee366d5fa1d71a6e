// The AWS CLI v2 (Debian's awscli package) against a real meadow server: publish a component from a recipe file,
// then create and list a deployment of it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AWS_CLI as AWS, awsCliEnv } from './helpers/aws-cli.js';
import { STORE_KINDS } from './helpers/databases.js';
import { minimalRecipe } from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);

for (const kind of STORE_KINDS) {
  describe(`AWS CLI v2 (${kind})`, () => {
    let s: TestServer;
    let home: string;
    before(async () => {
      s = await startTestServer(kind);
      home = mkdtempSync(join(tmpdir(), 'meadow-cli-home-'));
    });
    after(async () => {
      await s.close();
      rmSync(home, { recursive: true, force: true });
    });

    async function aws(...args: string[]): Promise<any> {
      const { stdout } = await run(AWS, [...args, '--endpoint-url', s.endpoint, '--output', 'json'], {
        env: awsCliEnv(home),
      });
      return stdout.trim() ? JSON.parse(stdout) : undefined;
    }

    it('is version 2 of the CLI', async () => {
      const { stdout } = await run(AWS, ['--version']);
      assert.match(stdout, /^aws-cli\/2\./);
    });

    it('publishes a component from a recipe file, deploys it to a thing group, and lists and gets the deployment', async () => {
      // fileb:// hands the recipe's bytes to the CLI, which sends them base64-encoded as the blob they are.
      const recipeFile = join(home, 'hello-recipe.json');
      writeFileSync(recipeFile, minimalRecipe('com.example.Hello', '1.0.0'));
      const published = await aws('greengrassv2', 'create-component-version', '--inline-recipe', `fileb://${recipeFile}`);
      assert.equal(published.arn, 'arn:aws:greengrass:us-east-1:123456789012:components:com.example.Hello:versions:1.0.0');
      assert.equal(published.componentName, 'com.example.Hello');
      assert.equal(published.componentVersion, '1.0.0');
      assert.equal(published.status.componentState, 'DEPLOYABLE');

      const group = await aws('iot', 'create-thing-group', '--thing-group-name', 'cli-fleet');
      assert.equal(group.thingGroupArn, 'arn:aws:iot:us-east-1:123456789012:thinggroup/cli-fleet');
      const created = await aws(
        'greengrassv2',
        'create-deployment',
        '--target-arn',
        group.thingGroupArn,
        '--deployment-name',
        'from-the-cli',
        '--components',
        JSON.stringify({ 'com.example.Hello': { componentVersion: '1.0.0', configurationUpdate: { merge: '{"greeting":"hi"}' } } }),
        '--deployment-policies',
        JSON.stringify({ failureHandlingPolicy: 'DO_NOTHING' }),
      );
      assert.match(created.deploymentId, /^[0-9a-f-]{36}$/);
      assert.match(created.iotJobArn, /^arn:aws:iot:us-east-1:123456789012:job\//);

      const listed = await aws('greengrassv2', 'list-deployments', '--target-arn', group.thingGroupArn);
      assert.equal(listed.deployments.length, 1);
      assert.equal(listed.deployments[0].deploymentId, created.deploymentId);
      assert.equal(listed.deployments[0].revisionId, '1');
      assert.equal(listed.deployments[0].deploymentStatus, 'ACTIVE');

      const got = await aws('greengrassv2', 'get-deployment', '--deployment-id', created.deploymentId);
      assert.equal(got.deploymentName, 'from-the-cli');
      assert.deepEqual(got.components['com.example.Hello'].configurationUpdate, { merge: '{"greeting":"hi"}' });
      assert.equal(got.deploymentPolicies.failureHandlingPolicy, 'DO_NOTHING');
      // The CLI renders epoch-seconds timestamps as ISO 8601.
      assert.ok(!Number.isNaN(Date.parse(got.creationTimestamp)));
    });

    it('paginates list-deployments across pages without repeating a token', async () => {
      await aws('iot', 'create-thing-group', '--thing-group-name', 'cli-many');
      for (let i = 0; i < 3; i++) {
        await aws('iot', 'create-thing', '--thing-name', `cli-core-${i}`);
        await aws('greengrassv2', 'create-deployment', '--target-arn', `arn:aws:iot:us-east-1:123456789012:thing/cli-core-${i}`);
      }
      // --page-size makes the CLI follow nextToken itself; botocore fails on a repeated token.
      const all = await aws('greengrassv2', 'list-deployments', '--page-size', '2');
      assert.equal(all.deployments.length, 4);
      assert.equal(new Set(all.deployments.map((d: any) => d.deploymentId)).size, 4);
    });

    it('reports a modelled error the way the CLI prints AWS errors', async () => {
      await assert.rejects(aws('greengrassv2', 'get-deployment', '--deployment-id', 'no-such-deployment'), (e: any) => {
        assert.equal(e.code, 254);
        assert.match(e.stderr, /An error occurred \(ResourceNotFoundException\) when calling the GetDeployment operation.*: .*no-such-deployment/);
        return true;
      });
      await assert.rejects(
        // botocore checks lengths itself but not patterns, so this one reaches meadow.
        aws('greengrassv2', 'create-deployment', '--target-arn', 'not-an-arn'),
        (e: any) => {
          assert.match(e.stderr, /\(ValidationException\).*targetArn.*regular expression/);
          return true;
        },
      );
    });
  });
}
