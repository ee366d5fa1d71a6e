// `meadow provision` as an operator runs it: a separate process against a running server, writing a device bundle.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  DescribeCertificateCommand,
  DescribeThingCommand,
  ListCertificatesCommand,
  ListThingGroupsForThingCommand,
  ListThingPrincipalsCommand,
} from '@aws-sdk/client-iot';
import { STORE_KINDS } from './helpers/databases.js';
import { ACCOUNT, REGION, uniqueName } from './helpers/greengrass.js';
import { startTestServer, TEST_CREDENTIALS, type TestServer } from './helpers/server.js';

const BIN = fileURLToPath(new URL('../bin/meadow.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `meadow provision ARGS` with only the given environment (and PATH). */
function provision(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'provision', ...args], { env: { PATH: process.env.PATH!, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const meadowKeys = { MEADOW_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, MEADOW_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };

for (const kind of STORE_KINDS) {
  describe(`meadow provision (${kind})`, () => {
    let server: TestServer;
    let work: string;
    before(async () => {
      server = await startTestServer(kind);
      work = mkdtempSync(join(tmpdir(), 'meadow-provision-'));
    });
    after(async () => {
      await server?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('creates the thing, its group membership and an attached ACTIVE certificate, and writes the bundle', async () => {
      const thingName = uniqueName('core');
      const group = uniqueName('fleet');
      const out = join(work, 'bundle-1');
      const run = await provision(['--thing-name', thingName, '--thing-group', group, '--out', out, '--endpoint', server.endpoint], {
        ...meadowKeys,
        MEADOW_MQTT_PORT: '18883',
        MEADOW_DATA_PLANE_PORT: '18443',
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`provisioned thing ${thingName} \\(in thing group ${group}\\)`));

      assert.deepEqual(readdirSync(out).sort(), ['AmazonRootCA1.pem', 'config.json', 'device.pem.crt', 'private.pem.key']);
      assert.equal(statSync(join(out, 'private.pem.key')).mode & 0o777, 0o600);
      const certPem = readFileSync(join(out, 'device.pem.crt'), 'utf8');
      const cert = new X509Certificate(certPem);
      assert.ok(cert.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'private.pem.key'), 'utf8'))), 'the key belongs to the certificate');
      const root = new X509Certificate(readFileSync(join(out, 'AmazonRootCA1.pem')));
      assert.equal(root.ca, true);
      assert.ok(cert.checkIssued(root) && cert.verify(root.publicKey), 'the bundled root is the certificate issuer');

      const endpointHost = new URL(server.endpoint).hostname;
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')), {
        thingName,
        region: REGION,
        iotDataEndpoint: `${endpointHost}:18883`,
        dataPlaneEndpoint: `https://${endpointHost}:18443`,
        controlPlaneEndpoint: server.endpoint,
      });

      // What the server now holds.
      const thing = await server.iot.send(new DescribeThingCommand({ thingName }));
      assert.equal(thing.thingArn, `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${thingName}`);
      const groups = await server.iot.send(new ListThingGroupsForThingCommand({ thingName }));
      assert.deepEqual(groups.thingGroups?.map((g) => g.groupName), [group]);
      const principals = (await server.iot.send(new ListThingPrincipalsCommand({ thingName }))).principals!;
      assert.equal(principals.length, 1);
      const certificateId = principals[0].split('/').pop()!;
      const d = (await server.iot.send(new DescribeCertificateCommand({ certificateId }))).certificateDescription!;
      assert.equal(d.status, 'ACTIVE');
      assert.equal(d.certificatePem, certPem);
    });

    it('uses an existing group and signs with the AWS_* variables', async () => {
      const group = uniqueName('fleet');
      const [first, second] = [uniqueName('core'), uniqueName('core')];
      for (const [i, thingName] of [first, second].entries()) {
        const run = await provision(['--thing-name', thingName, '--thing-group', group, '--out', join(work, `aws-${i}`), '--endpoint', server.endpoint], {
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        });
        assert.equal(run.code, 0, run.stderr);
      }
      for (const thingName of [first, second]) {
        const groups = await server.iot.send(new ListThingGroupsForThingCommand({ thingName }));
        assert.deepEqual(groups.thingGroups?.map((g) => g.groupName), [group]);
      }
    });

    it("signs with the data directory's credentials.json when no variables are set", async () => {
      const dataDir = join(work, 'data');
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'credentials.json'), JSON.stringify(TEST_CREDENTIALS));
      const thingName = uniqueName('core');
      const run = await provision(['--thing-name', thingName, '--out', join(work, 'from-data-dir'), '--endpoint', server.endpoint], { MEADOW_DATA_DIR: dataDir });
      assert.equal(run.code, 0, run.stderr);
      const principals = (await server.iot.send(new ListThingPrincipalsCommand({ thingName }))).principals!;
      assert.equal(principals.length, 1);
    });

    it('never overwrites a bundle, and explains missing arguments and credentials', async () => {
      const out = join(work, 'bundle-1'); // written by the first test
      const before = (await server.iot.send(new ListCertificatesCommand({ pageSize: 250 }))).certificates!.length;
      const again = await provision(['--thing-name', uniqueName('core'), '--out', out, '--endpoint', server.endpoint], meadowKeys);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already holds a device identity/);
      assert.equal((await server.iot.send(new ListCertificatesCommand({ pageSize: 250 }))).certificates!.length, before, 'no certificate was created');

      const missing = await provision(['--thing-name', 'x'], meadowKeys);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /--thing-name and --out are required/);

      const noKeys = await provision(['--thing-name', 'x', '--out', join(work, 'never'), '--endpoint', server.endpoint], { MEADOW_DATA_DIR: join(work, 'empty') });
      assert.equal(noKeys.code, 1);
      assert.match(noKeys.stderr, /no credentials/);
      assert.equal(existsSync(join(work, 'never')), false);

      const badName = await provision(['--thing-name', 'bad name!', '--out', join(work, 'bad'), '--endpoint', server.endpoint], meadowKeys);
      assert.equal(badName.code, 1);
      assert.match(badName.stderr, /thingName/);
    });
  });
}
