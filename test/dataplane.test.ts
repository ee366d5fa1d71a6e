// The HTTPS device data plane: mutual TLS with device certificates from CreateKeysAndCertificate, the Greengrass calls
// a core device makes, and the IoT jobs data plane without SigV4 (the certificate says which thing is calling).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  AddThingToThingGroupCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  DescribeJobExecutionCommand,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import {
  DescribeJobExecutionCommand as DeviceDescribeJobExecutionCommand,
  GetPendingJobExecutionsCommand,
  IoTJobsDataPlaneClient,
  StartNextPendingJobExecutionCommand,
  UpdateJobExecutionCommand,
} from '@aws-sdk/client-iot-jobs-data-plane';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { STORE_KINDS } from './helpers/databases.js';
import { ACCOUNT, REGION, deploy, newThing, newThingGroup, publishComponent, uniqueName } from './helpers/greengrass.js';
import { HELLO } from './helpers/jobs.js';
import { TEST_CREDENTIALS, startTestServer, type TestServer } from './helpers/server.js';

interface Device {
  thingName: string;
  certificateId: string;
  certificatePem: string;
  privateKeyPem: string;
}

interface DeviceResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

const sha256Base64 = (data: Buffer | string) => createHash('sha256').update(data).digest('base64');

for (const kind of STORE_KINDS) {
  describe(`device data plane over mutual TLS (${kind})`, () => {
    let s: TestServer;
    let caPem: string;
    let a: Device;
    let b: Device;
    const bucket = uniqueName('artifacts');
    const payload = Buffer.from('device artifact bytes\n');
    const componentName = uniqueName('com.example.DataPlane');
    let componentArn: string;
    const groups = { root: uniqueName('root'), mid: uniqueName('mid'), leaf: uniqueName('leaf'), solo: uniqueName('solo'), other: uniqueName('other') };
    let deploymentA: { deploymentId: string; jobId: string };
    let deploymentB: { deploymentId: string; jobId: string };

    /** A new certificate from CreateKeysAndCertificate, attached to the thing unless told not to. */
    async function certificateFor(thingName: string, attach = true): Promise<Device> {
      const out = await s.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
      if (attach) await s.iot.send(new AttachThingPrincipalCommand({ thingName, principal: out.certificateArn }));
      return { thingName, certificateId: out.certificateId!, certificatePem: out.certificatePem!, privateKeyPem: out.keyPair!.PrivateKey! };
    }

    /** One request to the data plane with the device's certificate (none when `device` is undefined). */
    function call(device: Device | undefined, method: string, path: string, body?: unknown): Promise<DeviceResponse> {
      const url = new URL(path, s.dataPlaneEndpoint);
      return new Promise((resolve, reject) => {
        const req = request(
          url,
          {
            method,
            ca: caPem,
            cert: device?.certificatePem,
            key: device?.privateKeyPem,
            agent: false,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              resolve({ status: res.statusCode!, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) });
            });
          },
        );
        req.on('error', reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    }

    /** The AWS SDK's jobs data plane client holding the device's certificate; its SigV4 signature (dummy keys) is ignored. */
    function jobsClient(device: Device): IoTJobsDataPlaneClient {
      return new IoTJobsDataPlaneClient({
        endpoint: s.dataPlaneEndpoint,
        region: REGION,
        credentials: { accessKeyId: 'AKIDUNUSEDBYTHEDEVICE', secretAccessKey: 'not-a-real-secret' },
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({
          httpsAgent: new Agent({ cert: device.certificatePem, key: device.privateKeyPem, ca: caPem }),
        }),
      });
    }

    function assertAccessDenied(res: DeviceResponse, messagePart: string) {
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.headers['x-amzn-errortype'], 'AccessDeniedException');
      assert.ok(typeof res.body?.message === 'string' && res.body.message.includes(messagePart), res.body?.message);
    }

    before(async () => {
      s = await startTestServer(kind);
      const s3 = new S3Client({ endpoint: s.endpoint, region: REGION, credentials: TEST_CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'app/1.0.0/app.bin', Body: payload }));
      s3.destroy();
      const published = await publishComponent(s, componentName, '1.0.0', { artifacts: [`s3://${bucket}/app/1.0.0/app.bin`] });
      assert.equal(published.status?.componentState, 'DEPLOYABLE', JSON.stringify(published.status));
      componentArn = published.arn!;
      await publishComponent(s, 'com.example.Hello', '1.0.0');

      // root > mid > leaf, plus two root groups; A is in leaf, mid and solo, B in other.
      await newThingGroup(s, groups.root);
      await newThingGroup(s, groups.mid, groups.root);
      await newThingGroup(s, groups.leaf, groups.mid);
      await newThingGroup(s, groups.solo);
      await newThingGroup(s, groups.other);
      const [thingA, thingB] = [uniqueName('device-a'), uniqueName('device-b')];
      await newThing(s, thingA);
      await newThing(s, thingB);
      a = await certificateFor(thingA);
      b = await certificateFor(thingB);
      for (const g of [groups.leaf, groups.mid, groups.solo]) {
        await s.iot.send(new AddThingToThingGroupCommand({ thingName: a.thingName, thingGroupName: g }));
      }
      await s.iot.send(new AddThingToThingGroupCommand({ thingName: b.thingName, thingGroupName: groups.other }));
      const toGroup = async (name: string) => {
        const out = await deploy(s, { targetArn: `arn:aws:iot:${REGION}:${ACCOUNT}:thinggroup/${name}`, components: HELLO });
        return { deploymentId: out.deploymentId!, jobId: out.iotJobId! };
      };
      deploymentA = await toGroup(groups.leaf);
      deploymentB = await toGroup(groups.other);
      caPem = (await s.store.getCertificateAuthority())!.certificatePem;
    });
    after(() => s.close());

    it('ResolveComponentCandidates returns a published component', async () => {
      const res = await call(a, 'POST', '/greengrass/v2/resolveComponentCandidates', {
        platform: { attributes: { os: 'linux', architecture: 'amd64' } },
        componentCandidates: [{ componentName, componentVersion: '1.0.0', versionRequirements: { [`thinggroup/${groups.leaf}`]: '>=1.0.0' } }],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.resolvedComponentVersions.length, 1);
      const [r] = res.body.resolvedComponentVersions;
      assert.equal(r.componentName, componentName);
      assert.equal(r.componentVersion, '1.0.0');
      assert.equal(r.arn, componentArn);
      assert.equal(JSON.parse(Buffer.from(r.recipe, 'base64').toString('utf8')).ComponentName, componentName);
    });

    it('GetComponentVersionArtifact hands out a URL on the main listener that downloads the artifact', async () => {
      const res = await call(a, 'GET', `/greengrass/v2/components/${encodeURIComponent(componentArn)}/artifacts/app.bin`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.preSignedUrl.startsWith(`${s.endpoint}/`), res.body.preSignedUrl);
      const download = await fetch(res.body.preSignedUrl);
      assert.equal(download.status, 200);
      assert.ok(Buffer.from(await download.arrayBuffer()).equals(payload));
    });

    it('ListThingGroupsForCoreDevice lists the direct groups with their ancestors, root first', async () => {
      const res = await call(a, 'GET', `/greengrass/v2/coreDevices/${a.thingName}/thingGroups`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const arn = (name: string) => `arn:aws:iot:${REGION}:${ACCOUNT}:thinggroup/${name}`;
      const expected = [
        {
          thingGroupName: groups.leaf,
          hasChildGroups: false,
          rootToParentThingGroups: [
            { thingGroupName: groups.root, thingGroupArn: arn(groups.root) },
            { thingGroupName: groups.mid, thingGroupArn: arn(groups.mid) },
          ],
        },
        { thingGroupName: groups.mid, hasChildGroups: true, rootToParentThingGroups: [{ thingGroupName: groups.root, thingGroupArn: arn(groups.root) }] },
        { thingGroupName: groups.solo, hasChildGroups: false, rootToParentThingGroups: [] },
      ].sort((x, y) => (x.thingGroupName < y.thingGroupName ? -1 : 1));
      assert.deepEqual(res.body, { thingGroups: expected });

      // Paged one at a time, the same groups in the same order.
      const paged = [];
      let nextToken: string | undefined;
      do {
        const page = await call(a, 'GET', `/greengrass/v2/coreDevices/${a.thingName}/thingGroups?maxResults=1${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        paged.push(...page.body.thingGroups);
        nextToken = page.body.nextToken;
      } while (nextToken);
      assert.deepEqual(paged, expected);
    });

    it("a device may not act for another device's thing", async () => {
      assertAccessDenied(await call(a, 'GET', `/greengrass/v2/coreDevices/${b.thingName}/thingGroups`), b.thingName);
      assertAccessDenied(await call(a, 'GET', `/things/${b.thingName}/jobs`), b.thingName);
      assertAccessDenied(await call(a, 'GET', `/greengrass/v2/deployments/${deploymentB.deploymentId}/configuration?coreDeviceThingName=${b.thingName}`), b.thingName);
    });

    it('control-plane operations are not served on the data plane', async () => {
      const res = await call(a, 'GET', '/greengrass/v2/components');
      assert.equal(res.status, 400);
      assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
      assert.equal(res.body.reason, 'UNKNOWN_OPERATION');
    });

    it('GetDeploymentConfiguration hands out the full document with its SHA-256 digest, to targeted devices only', async () => {
      const res = await call(a, 'GET', `/greengrass/v2/deployments/${deploymentA.deploymentId}/configuration?coreDeviceThingName=${a.thingName}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.integrityCheck.algorithm, 'SHA-256');
      assert.ok(res.body.preSignedUrl.startsWith(`${s.endpoint}/`), res.body.preSignedUrl);
      const download = await fetch(res.body.preSignedUrl);
      assert.equal(download.status, 200);
      const text = Buffer.from(await download.arrayBuffer());
      assert.equal(sha256Base64(text), res.body.integrityCheck.digest);
      const document = JSON.parse(text.toString('utf8'));
      assert.equal(document.deploymentId, deploymentA.deploymentId);
      assert.deepEqual(Object.keys(document.components), ['com.example.Hello']);
      assert.equal(document.components['com.example.Hello'].version, '1.0.0');

      // An altered URL is refused.
      const altered = new URL(res.body.preSignedUrl);
      altered.pathname = altered.pathname.replace(deploymentA.deploymentId, deploymentB.deploymentId);
      assert.equal((await fetch(altered)).status, 403);

      // B's deployment never went to A.
      const other = await call(a, 'GET', `/greengrass/v2/deployments/${deploymentB.deploymentId}/configuration?coreDeviceThingName=${a.thingName}`);
      assertAccessDenied(other, deploymentB.deploymentId);
      const missing = await call(a, 'GET', `/greengrass/v2/deployments/no-such-deployment/configuration?coreDeviceThingName=${a.thingName}`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['x-amzn-errortype'], 'ResourceNotFoundException');
      const noThing = await call(a, 'GET', `/greengrass/v2/deployments/${deploymentA.deploymentId}/configuration`);
      assert.equal(noThing.status, 400);
      assert.ok(noThing.body.fields.some((f: { name: string }) => f.name === 'coreDeviceThingName'), JSON.stringify(noThing.body));
    });

    it("jobs data plane: the device sees its group deployment's execution and moves it to SUCCEEDED, and cannot read another's", async () => {
      const data = jobsClient(a);
      try {
        const pending = await data.send(new GetPendingJobExecutionsCommand({ thingName: a.thingName }));
        assert.deepEqual(pending.queuedJobs?.map((j) => j.jobId), [deploymentA.jobId]);
        assert.deepEqual(pending.inProgressJobs, []);

        const started = await data.send(new StartNextPendingJobExecutionCommand({ thingName: a.thingName }));
        assert.equal(started.execution?.jobId, deploymentA.jobId);
        assert.equal(started.execution?.status, 'IN_PROGRESS');
        assert.equal(JSON.parse(started.execution!.jobDocument!).deploymentId, deploymentA.deploymentId);

        await data.send(new UpdateJobExecutionCommand({ thingName: a.thingName, jobId: deploymentA.jobId, status: 'SUCCEEDED' }));
        const seen = await data.send(new DeviceDescribeJobExecutionCommand({ thingName: a.thingName, jobId: deploymentA.jobId }));
        assert.equal(seen.execution?.status, 'SUCCEEDED');
        const control = await s.iot.send(new DescribeJobExecutionCommand({ jobId: deploymentA.jobId, thingName: a.thingName }));
        assert.equal(control.execution?.status, 'SUCCEEDED');

        // B's execution is B's: A can neither read nor change it.
        for (const command of [
          new GetPendingJobExecutionsCommand({ thingName: b.thingName }),
          new DeviceDescribeJobExecutionCommand({ thingName: b.thingName, jobId: deploymentB.jobId }),
          new UpdateJobExecutionCommand({ thingName: b.thingName, jobId: deploymentB.jobId, status: 'IN_PROGRESS' }),
        ]) {
          await assert.rejects(data.send(command as never), (e: any) => {
            assert.equal(e.name, 'AccessDeniedException');
            assert.equal(e.$metadata.httpStatusCode, 403);
            assert.ok(e.message.includes(b.thingName), e.message);
            return true;
          });
        }
        const untouched = await s.iot.send(new DescribeJobExecutionCommand({ jobId: deploymentB.jobId, thingName: b.thingName }));
        assert.equal(untouched.execution?.status, 'QUEUED');
      } finally {
        data.destroy();
      }
    });

    it('refuses an INACTIVE, a REVOKED and an unattached certificate with 403, and accepts it again once ACTIVE', async () => {
      const second = await certificateFor(a.thingName);
      const path = `/things/${a.thingName}/jobs`;
      assert.equal((await call(second, 'GET', path)).status, 200);

      await s.iot.send(new UpdateCertificateCommand({ certificateId: second.certificateId, newStatus: 'INACTIVE' }));
      assertAccessDenied(await call(second, 'GET', path), 'INACTIVE');
      await s.iot.send(new UpdateCertificateCommand({ certificateId: second.certificateId, newStatus: 'ACTIVE' }));
      assert.equal((await call(second, 'GET', path)).status, 200);

      const revoked = await certificateFor(a.thingName);
      await s.iot.send(new UpdateCertificateCommand({ certificateId: revoked.certificateId, newStatus: 'REVOKED' }));
      assertAccessDenied(await call(revoked, 'GET', path), 'REVOKED');

      const unattached = await certificateFor(a.thingName, false);
      assertAccessDenied(await call(unattached, 'GET', path), 'not attached to any thing');
    });

    it('a client without a certificate fails the TLS handshake', async () => {
      await assert.rejects(call(undefined, 'GET', `/things/${a.thingName}/jobs`), (e: NodeJS.ErrnoException) => {
        assert.ok(e.code === 'ECONNRESET' || /SSL|TLS|CERTIFICATE/i.test(e.code ?? ''), `${e.code}: ${e.message}`);
        return true;
      });
    });
  });
}
