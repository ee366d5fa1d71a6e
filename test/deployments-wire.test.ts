// The wire around the deployment operations: requests the SDK would never send (bad JSON, unknown routes, unsigned
// or tampered requests) go out as real signed HTTP; signing faults the SDK can make (wrong secret, unknown key,
// skewed clock, other region) go through the SDK. Every answer is AWS-shaped, and nothing is created on the way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateDeploymentCommand, GreengrassV2Client, ListDeploymentsCommand, ThrottlingException } from '@aws-sdk/client-greengrassv2';
import { STORE_KINDS } from './helpers/databases.js';
import { allDeploymentIds, expectErrorResponse, newThingGroup, publishComponents, rejectsNamed, signRequest, signedFetch } from './helpers/greengrass.js';
import { TEST_CREDENTIALS, clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const DEPLOYMENTS = '/greengrass/v2/deployments';
const HELLO = { 'com.example.Hello': { componentVersion: '1.0.0' } };

for (const kind of STORE_KINDS) {
  describe(`deployment API wire errors (${kind})`, () => {
    let s: TestServer;
    let target: string;
    /** A CreateDeployment body that would succeed if it arrived intact and authenticated. */
    let goodBody: string;
    before(async () => {
      s = await startTestServer(kind);
      target = await newThingGroup(s);
      // Evil is what a tampered body deploys: published too, so only the broken signature can refuse it.
      await publishComponents(s, ['com.example.Hello@1.0.0', 'com.example.Evil@6.6.6']);
      goodBody = JSON.stringify({ targetArn: target, components: HELLO });
    });
    after(() => s.close());

    /** Runs a request that must be refused and checks it wrote no deployment. */
    async function refusedWithoutWrites<T>(request: () => Promise<T>): Promise<T> {
      const before = await allDeploymentIds(s);
      const result = await request();
      assert.deepEqual(await allDeploymentIds(s), before, 'a refused request created a deployment');
      return result;
    }

    const createWith = (c: GreengrassV2Client) => c.send(new CreateDeploymentCommand({ targetArn: target, components: HELLO }));

    /** An SDK client for this server with some of its settings changed. */
    function client(overrides: Partial<ReturnType<typeof clientConfig>> & { systemClockOffset?: number }): GreengrassV2Client {
      return new GreengrassV2Client({ ...clientConfig(s.endpoint), ...overrides });
    }

    it('a correctly signed raw request succeeds, signed either way the SDKs sign (control for the tests below)', async () => {
      for (const applyChecksum of [true, false]) {
        const res = await signedFetch(s.endpoint, { method: 'POST', path: DEPLOYMENTS, body: goodBody, applyChecksum });
        assert.equal(res.status, 201, await res.clone().text());
        const out = await res.json();
        assert.ok(out.deploymentId);
        assert.ok(res.headers.get('x-amzn-requestid'));
      }
    });

    it('a malformed JSON body is 400 ValidationException with reason CANNOT_PARSE', async () => {
      for (const body of ['{"targetArn": ', 'not json', '[1,2,3]']) {
        const res = await refusedWithoutWrites(() => signedFetch(s.endpoint, { method: 'POST', path: DEPLOYMENTS, body }));
        const err = await expectErrorResponse(res, 400, 'ValidationException');
        assert.equal(err.reason, 'CANNOT_PARSE', `${body}: ${JSON.stringify(err)}`);
      }
    });

    it('a body of the wrong JSON types is 400 ValidationException naming the fields', async () => {
      const body = JSON.stringify({ targetArn: 42, components: { c: { componentVersion: ['1.0.0'] } } });
      const res = await refusedWithoutWrites(() => signedFetch(s.endpoint, { method: 'POST', path: DEPLOYMENTS, body }));
      const err = await expectErrorResponse(res, 400, 'ValidationException');
      assert.equal(err.reason, 'FIELD_VALIDATION_FAILED');
      const names = (err.fields as { name: string }[]).map((f) => f.name);
      assert.ok(names.includes('targetArn') && names.includes('components[c].componentVersion'), JSON.stringify(err.fields));
    });

    it('an unknown route is 400 ValidationException with reason UNKNOWN_OPERATION', async () => {
      const routes = [
        { method: 'GET', path: '/greengrass/v2/no-such-thing' },
        { method: 'PUT', path: DEPLOYMENTS, body: goodBody }, // known path, no such method
        { method: 'POST', path: '/greengrass/v2/deployments/x/y/z', body: '{}' },
      ];
      for (const r of routes) {
        const res = await refusedWithoutWrites(() => signedFetch(s.endpoint, r));
        const err = await expectErrorResponse(res, 400, 'ValidationException');
        assert.equal(err.reason, 'UNKNOWN_OPERATION', `${r.method} ${r.path}: ${JSON.stringify(err)}`);
        assert.ok(err.message.includes(r.path), err.message);
      }
    });

    it('a request without Authorization is 403 MissingAuthenticationTokenException and creates nothing', async () => {
      const res = await refusedWithoutWrites(() =>
        fetch(`${s.endpoint}${DEPLOYMENTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: goodBody }),
      );
      await expectErrorResponse(res, 403, 'MissingAuthenticationTokenException');
    });

    it('a malformed Authorization header is 403 IncompleteSignatureException', async () => {
      const res = await refusedWithoutWrites(() =>
        fetch(`${s.endpoint}${DEPLOYMENTS}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'AWS4-HMAC-SHA256 Credential=nope' },
          body: goodBody,
        }),
      );
      await expectErrorResponse(res, 403, 'IncompleteSignatureException');
    });

    it('a wrong secret is 403 InvalidSignatureException', async () => {
      const bad = client({ credentials: { accessKeyId: TEST_CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' } });
      try {
        const err = await refusedWithoutWrites(() => rejectsNamed(createWith(bad), 'InvalidSignatureException'));
        assert.equal(err.$metadata.httpStatusCode, 403);
        assert.match(err.message, /signature/i);
      } finally {
        bad.destroy();
      }
    });

    it('an unknown access key is 403 UnrecognizedClientException', async () => {
      const bad = client({ credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: TEST_CREDENTIALS.secretAccessKey } });
      try {
        const err = await refusedWithoutWrites(() => rejectsNamed(createWith(bad), 'UnrecognizedClientException'));
        assert.equal(err.$metadata.httpStatusCode, 403);
      } finally {
        bad.destroy();
      }
    });

    it('a body changed after signing is 403 InvalidSignatureException, with or without x-amz-content-sha256', async () => {
      const tampered = JSON.stringify({ targetArn: target, components: { 'com.example.Evil': { componentVersion: '6.6.6' } } });
      for (const applyChecksum of [true, false]) {
        const { url, init } = await signRequest(s.endpoint, { method: 'POST', path: DEPLOYMENTS, body: goodBody, applyChecksum });
        const res = await refusedWithoutWrites(() => fetch(url, { ...init, body: tampered }));
        const err = await expectErrorResponse(res, 403, 'InvalidSignatureException');
        assert.match(err.message, applyChecksum ? /x-amz-content-sha256/ : /signature we calculated does not match/);
      }
    });

    it('a query changed after signing is 403 InvalidSignatureException', async () => {
      const { url, init } = await signRequest(s.endpoint, { method: 'GET', path: DEPLOYMENTS, query: { historyFilter: 'ALL' } });
      const res = await fetch(url.replace('historyFilter=ALL', 'historyFilter=LATEST_ONLY'), init);
      await expectErrorResponse(res, 403, 'InvalidSignatureException');
    });

    it('a request signed 20 minutes in the past or future is 403 InvalidSignatureException about the expiry', async () => {
      for (const minutes of [-20, 20]) {
        const skewed = client({ systemClockOffset: minutes * 60 * 1000, maxAttempts: 1 });
        try {
          const err = await refusedWithoutWrites(() => rejectsNamed(createWith(skewed), 'InvalidSignatureException'));
          assert.equal(err.$metadata.httpStatusCode, 403);
          assert.match(err.message, /Signature expired/);
          assert.match(err.message, /15 minute/);
        } finally {
          skewed.destroy();
        }
      }
    });

    it('a request signed for another region is 403 InvalidSignatureException naming the region', async () => {
      const elsewhere = client({ region: 'eu-west-1' });
      try {
        const err = await refusedWithoutWrites(() => rejectsNamed(createWith(elsewhere), 'InvalidSignatureException'));
        assert.equal(err.$metadata.httpStatusCode, 403);
        assert.ok(err.message.includes('eu-west-1'), err.message);
      } finally {
        elsewhere.destroy();
      }
    });

    it('a request signed for a service meadow does not serve is 403 InvalidSignatureException', async () => {
      const res = await refusedWithoutWrites(() => signedFetch(s.endpoint, { method: 'POST', path: DEPLOYMENTS, body: goodBody, service: 'dynamodb' }));
      const err = await expectErrorResponse(res, 403, 'InvalidSignatureException');
      assert.ok(err.message.includes('dynamodb'), err.message);
    });

    it('a body over the size limit is 413, AWS-shaped, and creates nothing', async () => {
      const body = JSON.stringify({ targetArn: target, components: HELLO, deploymentName: 'x'.repeat(17 * 1024 * 1024) });
      const res = await refusedWithoutWrites(() => signedFetch(s.endpoint, { method: 'POST', path: DEPLOYMENTS, body }));
      await expectErrorResponse(res, 413, 'RequestEntityTooLargeException');
    });

    it('a path with broken percent-encoding is 400, AWS-shaped', async () => {
      const res = await signedFetch(s.endpoint, { method: 'GET', path: `${DEPLOYMENTS}/%ZZ` });
      await expectErrorResponse(res, 400, 'SerializationException');
    });

    it('modelled errors carry x-amzn-RequestId and Date too', async () => {
      const res = await signedFetch(s.endpoint, { method: 'GET', path: `${DEPLOYMENTS}/00000000-0000-4000-8000-000000000000` });
      const err = await expectErrorResponse(res, 404, 'ResourceNotFoundException');
      assert.equal(err.resourceType, 'deployment');
    });
  });

  describe(`throttling (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind, { config: { apiRateLimit: 2 } });
    });
    after(() => s.close());

    it('answers a burst beyond the rate with ThrottlingException, retryAfterSeconds and a Retry-After header', async () => {
      const results = await Promise.allSettled(Array.from({ length: 30 }, () => s.gg.send(new ListDeploymentsCommand({}))));
      const throttled = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      assert.ok(throttled.length > 0, 'a burst of 30 requests at 2 per second was not throttled');
      assert.ok(results.some((r) => r.status === 'fulfilled'), 'the bucket should admit its burst');
      for (const err of throttled) {
        assert.ok(err instanceof ThrottlingException, `unexpected ${err?.name}: ${err?.message}`);
        assert.equal(err.name, 'ThrottlingException');
        assert.equal(err.$metadata.httpStatusCode, 429);
        assert.ok(Number.isInteger(err.retryAfterSeconds) && err.retryAfterSeconds! >= 1, `retryAfterSeconds ${err.retryAfterSeconds}`);
        assert.equal(err.$response?.headers['retry-after'], String(err.retryAfterSeconds));
        assert.ok(err.$metadata.requestId);
        assert.match(err.message, /Rate exceeded/);
      }
    });

    it('throttles raw requests the same way, before they reach the handler', async () => {
      const target = 'arn:aws:iot:us-east-1:123456789012:thinggroup/never-created';
      const body = JSON.stringify({ targetArn: target, components: HELLO });
      const responses = await Promise.all(Array.from({ length: 30 }, () => signedFetch(s.endpoint, { method: 'POST', path: DEPLOYMENTS, body })));
      const throttled = responses.filter((r) => r.status === 429);
      assert.ok(throttled.length > 0, 'a burst of 30 requests at 2 per second was not throttled');
      for (const res of throttled) {
        const err = await expectErrorResponse(res, 429, 'ThrottlingException');
        const retryAfter = res.headers.get('retry-after');
        assert.match(retryAfter ?? '', /^[1-9][0-9]*$/);
        assert.equal(err.message.length > 0, true);
      }
      // The ones let through reached the handler and were refused for the missing target.
      for (const res of responses.filter((r) => r.status !== 429)) await expectErrorResponse(res, 404, 'ResourceNotFoundException');
    });
  });
}
