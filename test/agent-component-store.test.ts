// The agent's data-plane client and component store against a real meadow: a device provisioned with `meadow
// provision`'s bundle resolves components, downloads and verifies artifacts into the nucleus's folder layout,
// unpacks ZIP artifacts (refusing entries that escape), applies Permission, cleans up, reads its thing groups page by
// page and downloads a LARGE_CONFIGURATION document. The retry rule is checked on its own too.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { CreateComponentVersionCommand } from '@aws-sdk/client-greengrassv2';
import { AddThingToThingGroupCommand } from '@aws-sdk/client-iot';
import { ComponentStore, componentRef } from '../src/agent/component-store/index.js';
import { DataPlaneClient, DataPlaneError, dataPlaneIdentityFromBundle } from '../src/agent/dataplane/client.js';
import { CLOUD_RETRY_INTERVAL_MS, failureCodes, retryAfter } from '../src/core/dataplane-retry.js';
import { DeploymentError, errorTypesOf } from '../src/core/deployment-errors.js';
import { selectManifest } from '../src/core/recipe/index.js';
import { provisionDevice } from '../src/devices/provision.js';
import { STORE_KINDS } from './helpers/databases.js';
import { ACCOUNT, REGION, deploy, newThingGroup, publishComponent, uniqueName } from './helpers/greengrass.js';
import { TEST_CREDENTIALS, startTestServer, type TestServer } from './helpers/server.js';

const PLATFORM = { os: 'linux', architecture: 'amd64' };
const sha256Base64 = (data: Buffer | string) => createHash('sha256').update(data).digest('base64');
const modeOf = (p: string) => statSync(p).mode & 0o777;

/** A ZIP archive of stored (uncompressed) entries, names taken as given, so a test can write `../` into one. */
function zipOf(entries: { name: string; data?: string }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const data = Buffer.from(e.data ?? '');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A recording sleep: the client and store wait through it, and it returns at once. */
function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('data-plane retry rule', () => {
  it('retries network errors, throttling and 5xx without end, a 4xx never, and a GetDeploymentConfiguration 404 ten times', () => {
    for (const call of ['ResolveComponentCandidates', 'GetDeploymentConfiguration', 'Download'] as const) {
      assert.equal(retryAfter(call, { kind: 'network' }, 1000), CLOUD_RETRY_INTERVAL_MS);
      assert.equal(retryAfter(call, { kind: 'http', status: 503 }, 1000), CLOUD_RETRY_INTERVAL_MS);
      assert.equal(retryAfter(call, { kind: 'http', status: 400, errorCode: 'ThrottlingException' }, 1000), CLOUD_RETRY_INTERVAL_MS);
      assert.equal(retryAfter(call, { kind: 'http', status: 403 }, 1), undefined);
      assert.equal(retryAfter(call, { kind: 'http', status: 400 }, 1), undefined);
    }
    assert.equal(retryAfter('ResolveComponentCandidates', { kind: 'http', status: 404 }, 1), undefined);
    assert.equal(retryAfter('GetDeploymentConfiguration', { kind: 'http', status: 404 }, 10), CLOUD_RETRY_INTERVAL_MS);
    assert.equal(retryAfter('GetDeploymentConfiguration', { kind: 'http', status: 404 }, 11), undefined);
  });

  it('names failures with the nucleus codes and types', () => {
    assert.deepEqual(failureCodes('ResolveComponentCandidates', { kind: 'http', status: 403 }), ['CLOUD_API_ERROR', 'RESOLVE_COMPONENT_CANDIDATES_ACCESS_DENIED']);
    assert.deepEqual(failureCodes('GetDeploymentConfiguration', { kind: 'http', status: 403 }), ['CLOUD_API_ERROR', 'GET_DEPLOYMENT_CONFIGURATION_ACCESS_DENIED']);
    assert.deepEqual(failureCodes('ListThingGroupsForCoreDevice', { kind: 'http', status: 404 }), ['CLOUD_API_ERROR', 'RESOURCE_NOT_FOUND']);
    assert.deepEqual(failureCodes('GetComponentVersionArtifact', { kind: 'http', status: 429 }), ['CLOUD_API_ERROR', 'THROTTLING_ERROR']);
    assert.deepEqual(failureCodes('Download', { kind: 'network' }), ['NETWORK_ERROR']);
    assert.deepEqual(errorTypesOf(['ARTIFACT_DOWNLOAD_ERROR', 'ARTIFACT_CHECKSUM_MISMATCH']), ['COMPONENT_RECIPE_ERROR']);
  });
});

describe('artifact download resumes a cut connection with a Range request', () => {
  let server: Server;
  let url: string;
  const body = Buffer.from('0123456789'.repeat(10_000));
  const requests: (string | undefined)[] = [];

  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.headers.range);
      if (requests.length === 1) {
        // Half the bytes, then the connection drops.
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, body.length / 2), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/artifact?X-Signature=secret`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('gets the rest from where the file stopped and hashes the whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meadow-download-'));
    const { waits, sleep } = recordingSleep();
    const client = new DataPlaneClient({ thingName: 't', certificatePem: '', privateKeyPem: '', caPem: '', endpoint: 'https://127.0.0.1:1' }, { sleep });
    try {
      const out = await client.downloadToFile(url, join(dir, 'a.bin'));
      assert.equal(out.sha256Base64, sha256Base64(body));
      assert.equal(out.size, body.length);
      assert.ok(readFileSync(join(dir, 'a.bin')).equals(body));
      assert.equal(requests[0], undefined);
      assert.match(requests[1] ?? '', /^bytes=\d+-$/);
      assert.ok(Number(/\d+/.exec(requests[1]!)![0]) > 0, requests[1]);
      assert.deepEqual(waits, [CLOUD_RETRY_INTERVAL_MS]);
    } finally {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const kind of STORE_KINDS) {
  describe(`agent data-plane client and component store (${kind})`, () => {
    let s: TestServer;
    let client: DataPlaneClient;
    let root: string;
    let bundleDir: string;
    const bucket = uniqueName('agent-artifacts');
    const thingName = uniqueName('agent-device');
    const groups = [uniqueName('g-a'), uniqueName('g-b'), uniqueName('g-c')];
    const app = uniqueName('com.example.App');
    const zipped = uniqueName('com.example.Zipped');
    const evil = uniqueName('com.example.Evil');
    const tampered = uniqueName('com.example.Tampered');
    const script = Buffer.from('#!/bin/sh\necho hello\n');
    const bundle = zipOf([
      { name: 'bin/' },
      { name: 'bin/run.sh', data: '#!/bin/sh\necho zipped\n' },
      { name: 'data/notes.txt', data: 'notes\n' },
    ]);
    const downloads: string[] = [];

    async function put(key: string, body: Buffer) {
      await s.artifacts.putObject(bucket, key, Readable.from([body]));
    }

    async function publish(name: string, version: string, artifacts: object[]) {
      const recipe = {
        RecipeFormatVersion: '2020-01-25',
        ComponentName: name,
        ComponentVersion: version,
        Manifests: [{ Platform: { os: 'linux' }, Lifecycle: { Run: 'echo run' }, Artifacts: artifacts }],
      };
      const out = await s.gg.send(new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(JSON.stringify(recipe)) }));
      assert.equal(out.status?.componentState, 'DEPLOYABLE', JSON.stringify(out.status));
    }

    /** Resolves one exact version through the data plane, keeps its recipe and fetches its artifacts. */
    async function install(store: ComponentStore, name: string, version: string) {
      const resolved = await client.resolveComponentCandidates(PLATFORM, { componentName: name, versionRequirements: { [`thing/${thingName}`]: version } });
      const recipe = await store.saveRecipe(resolved);
      await store.prepareArtifacts(name, version, selectManifest(recipe, PLATFORM)?.Artifacts ?? []);
    }

    function newStore(opts: { checksumAttempts?: number; sleep?: (ms: number) => Promise<void> } = {}) {
      return new ComponentStore({
        root,
        checksumAttempts: opts.checksumAttempts,
        sleep: opts.sleep,
        source: {
          getComponentVersionArtifact: (arn, name, o) => client.getComponentVersionArtifact(arn, name, o),
          downloadToFile: (url, file, o) => {
            downloads.push(url.split('?')[0]);
            return client.downloadToFile(url, file, o);
          },
        },
      });
    }

    before(async () => {
      s = await startTestServer(kind);
      await s.artifacts.createBucket(bucket);
      await put('app/app.sh', script);
      await put('zipped/bundle.zip', bundle);
      await put('evil/evil.zip', zipOf([{ name: 'ok.txt', data: 'fine' }, { name: '../escaped.txt', data: 'gotcha' }]));
      await put('tampered/payload.bin', Buffer.from('original payload'));
      await publish(app, '1.0.0', [{ URI: `s3://${bucket}/app/app.sh`, Permission: { Read: 'OWNER', Execute: 'OWNER' } }]);
      await publish(app, '1.1.0', [{ URI: `s3://${bucket}/app/app.sh` }]);
      await publish(app, '2.0.0', [{ URI: `s3://${bucket}/app/app.sh` }]);
      await publish(zipped, '1.0.0', [{ URI: `s3://${bucket}/zipped/bundle.zip`, Unarchive: 'ZIP', Permission: { Read: 'ALL', Execute: 'ALL' } }]);
      await publish(evil, '1.0.0', [{ URI: `s3://${bucket}/evil/evil.zip`, Unarchive: 'ZIP' }]);
      await publish(tampered, '1.0.0', [{ URI: `s3://${bucket}/tampered/payload.bin` }]);
      await publishComponent(s, 'com.example.Hello', '1.0.0');
      for (const g of groups) await newThingGroup(s, g);

      bundleDir = mkdtempSync(join(tmpdir(), 'meadow-bundle-'));
      rmSync(bundleDir, { recursive: true });
      await provisionDevice({
        endpoint: s.endpoint,
        region: REGION,
        credentials: TEST_CREDENTIALS,
        thingName,
        thingGroupName: groups[0],
        outDir: bundleDir,
        iotDataEndpoint: `127.0.0.1:${s.mqttPort}`,
        dataPlaneEndpoint: s.dataPlaneEndpoint,
      });
      for (const g of groups.slice(1)) await s.iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: g }));
      client = new DataPlaneClient(dataPlaneIdentityFromBundle(bundleDir), { pageSize: 1 });
      root = mkdtempSync(join(tmpdir(), 'meadow-agent-root-'));
    });
    after(async () => {
      client?.close();
      await s.close();
      rmSync(root, { recursive: true, force: true });
      rmSync(bundleDir, { recursive: true, force: true });
    });

    it('resolves the highest version a requirement admits and keeps its recipe and ARN in the nucleus layout', async () => {
      const store = newStore();
      const resolved = await client.resolveComponentCandidates(PLATFORM, { componentName: app, versionRequirements: { 'thinggroup/x': '^1.0.0' } });
      assert.equal(resolved.componentVersion, '1.1.0');
      assert.match(resolved.arn, new RegExp(`:components:${app.replace(/\./g, '\\.')}:versions:1\\.1\\.0$`));
      await store.saveRecipe(resolved);
      const hash = createHash('sha256').update(app).digest('base64url');
      const recipeFile = join(root, 'packages', 'recipes', `${hash}@1.1.0.recipe.yaml`);
      assert.equal(store.recipeFile(app, '1.1.0'), recipeFile);
      assert.match(readFileSync(recipeFile, 'utf8'), new RegExp(`ComponentName: ${app.replace(/\./g, '\\.')}`));
      assert.equal((await store.readMetadata(app, '1.1.0'))?.componentVersionArn, resolved.arn);
      assert.equal((await store.readRecipe(app, '1.1.0'))?.ComponentVersion, '1.1.0');
      assert.equal(await store.bestLocalVersion(app, ['>=1.0.0']), '1.1.0');
      assert.equal(await store.bestLocalVersion(app, ['>=1.0.0', '<1.1.0']), undefined);
    });

    it('a component with no usable version fails with 404 ResourceNotFoundException, not retried', async () => {
      const { waits, sleep } = recordingSleep();
      const c = new DataPlaneClient(dataPlaneIdentityFromBundle(bundleDir), { sleep });
      try {
        await assert.rejects(c.resolveComponentCandidates(PLATFORM, { componentName: app, versionRequirements: { 'thinggroup/x': '>=9.0.0' } }), (e) => {
          assert.ok(e instanceof DataPlaneError, String(e));
          assert.equal(e.status, 404);
          assert.equal(e.errorCode, 'ResourceNotFoundException');
          assert.deepEqual(e.codes, ['CLOUD_API_ERROR', 'RESOURCE_NOT_FOUND']);
          return true;
        });
        assert.deepEqual(waits, []);
      } finally {
        c.close();
      }
    });

    it('downloads an artifact once, verifies its digest, and applies its Permission', async () => {
      const store = newStore();
      await install(store, app, '1.0.0');
      const file = join(store.paths(app, '1.0.0').artifacts, 'app.sh');
      assert.equal(file, join(root, 'packages', 'artifacts', app, '1.0.0', 'app.sh'));
      assert.ok(readFileSync(file).equals(script));
      assert.equal(modeOf(file), 0o500, 'Read OWNER + Execute OWNER');
      assert.equal(modeOf(store.paths(app, '1.0.0').artifacts), 0o755);
      assert.deepEqual(readdirSync(store.paths(app, '1.0.0').artifacts), ['app.sh'], 'no temporary file left');
      const before = downloads.length;
      await install(store, app, '1.0.0');
      assert.equal(downloads.length, before, 'an artifact present with its digest is not downloaded again');

      // A default Permission (Read OWNER, Execute NONE); a damaged local copy is fetched again.
      await install(store, app, '2.0.0');
      const second = join(store.paths(app, '2.0.0').artifacts, 'app.sh');
      assert.equal(modeOf(second), 0o400);
      rmSync(second);
      writeFileSync(second, 'damaged');
      await install(store, app, '2.0.0');
      assert.ok(readFileSync(second).equals(script));
      assert.equal(downloads.length, before + 2);
    });

    it('a download that does not match the recipe digest fails with ARTIFACT_CHECKSUM_MISMATCH naming component, version and artifact', async () => {
      // The object changes in meadow's artifact store after the version was published (and its digest computed).
      await put('tampered/payload.bin', Buffer.from('something else entirely'));
      const { waits, sleep } = recordingSleep();
      const store = newStore({ checksumAttempts: 3, sleep });
      const uri = `s3://${bucket}/tampered/payload.bin`;
      await assert.rejects(install(store, tampered, '1.0.0'), (e) => {
        assert.ok(e instanceof DeploymentError, String(e));
        assert.deepEqual(e.codes, ['ARTIFACT_DOWNLOAD_ERROR', 'ARTIFACT_CHECKSUM_MISMATCH']);
        assert.equal(e.code, 'ARTIFACT_CHECKSUM_MISMATCH');
        for (const part of [tampered, '1.0.0', uri]) assert.ok(e.message.includes(part), e.message);
        return true;
      });
      assert.deepEqual(waits, [CLOUD_RETRY_INTERVAL_MS, CLOUD_RETRY_INTERVAL_MS], 'three downloads, a minute apart');
      assert.deepEqual(readdirSync(store.paths(tampered, '1.0.0').artifacts), [], 'nothing kept of a bad download');
    });

    it('unpacks a ZIP artifact into artifacts-unarchived/<name>/<version>/<archive>/ with its Permission', async () => {
      const store = newStore();
      await install(store, zipped, '1.0.0');
      const dest = join(store.paths(zipped, '1.0.0').artifactsDecompressed, 'bundle');
      assert.equal(dest, join(root, 'packages', 'artifacts-unarchived', zipped, '1.0.0', 'bundle'));
      assert.equal(readFileSync(join(dest, 'bin', 'run.sh'), 'utf8'), '#!/bin/sh\necho zipped\n');
      assert.equal(readFileSync(join(dest, 'data', 'notes.txt'), 'utf8'), 'notes\n');
      assert.equal(modeOf(join(dest, 'bin', 'run.sh')), 0o555, 'Read ALL + Execute ALL');
      assert.equal(modeOf(join(dest, 'data')), 0o755);
      assert.equal(modeOf(join(store.paths(zipped, '1.0.0').artifacts, 'bundle.zip')), 0o555);
      assert.deepEqual(readdirSync(store.paths(zipped, '1.0.0').artifactsDecompressed), ['bundle'], 'no temporary folder left');
    });

    it('refuses a ZIP entry that would land outside its folder (zip-slip) and leaves nothing unpacked', async () => {
      const store = newStore();
      await assert.rejects(install(store, evil, '1.0.0'), (e) => {
        assert.ok(e instanceof DeploymentError, String(e));
        assert.deepEqual(e.codes, ['ARTIFACT_DOWNLOAD_ERROR', 'IO_UNZIP_ERROR']);
        assert.ok(e.message.includes(evil) && e.message.includes('../escaped.txt'), e.message);
        return true;
      });
      const base = store.paths(evil, '1.0.0').artifactsDecompressed;
      assert.deepEqual(readdirSync(base), []);
      assert.equal(existsSync(join(base, '..', 'escaped.txt')), false);
      assert.equal(existsSync(join(base, 'escaped.txt')), false);
    });

    it('cleanup removes every version not kept: recipe, metadata, artifacts and unpacked artifacts', async () => {
      const store = newStore();
      await install(store, app, '1.0.0');
      await install(store, app, '2.0.0');
      await install(store, zipped, '1.0.0');
      const removed = await store.cleanup([componentRef(app, '2.0.0')]);
      assert.ok(removed.includes(componentRef(app, '1.0.0')) && removed.includes(componentRef(zipped, '1.0.0')), JSON.stringify(removed));
      assert.ok(!removed.includes(componentRef(app, '2.0.0')));
      assert.deepEqual(
        (await store.listComponents()).map((m) => componentRef(m.componentName, m.componentVersion)),
        [componentRef(app, '2.0.0')],
      );
      assert.equal(existsSync(store.paths(app, '1.0.0').artifacts), false);
      assert.ok(existsSync(join(store.paths(app, '2.0.0').artifacts, 'app.sh')));
      assert.equal(existsSync(join(root, 'packages', 'artifacts', zipped)), false);
      assert.equal(existsSync(join(root, 'packages', 'artifacts-unarchived', zipped)), false);
      assert.equal(existsSync(store.recipeFile(zipped, '1.0.0')), false);
      assert.equal(existsSync(store.metadataFile(app, '1.0.0')), false);
    });

    it('ListThingGroupsForCoreDevice: every group, one page at a time', async () => {
      const got = await client.listThingGroupsForCoreDevice();
      assert.deepEqual(got.map((g) => g.thingGroupName), [...groups].sort());
      assert.ok(got.every((g) => g.hasChildGroups === false && Array.isArray(g.rootToParentThingGroups)));
    });

    it('GetDeploymentConfiguration: downloads a LARGE_CONFIGURATION document and checks its integrity', async () => {
      const merge = JSON.stringify({ text: 'z'.repeat(8 * 1024) });
      const { deploymentId } = await deploy(s, {
        targetArn: `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${thingName}`,
        components: { 'com.example.Hello': { componentVersion: '1.0.0', configurationUpdate: { merge } } },
      });
      const text = await client.getDeploymentConfiguration(deploymentId!);
      const document = JSON.parse(text);
      assert.equal(document.deploymentId, deploymentId);
      assert.deepEqual(document.components['com.example.Hello'].configurationUpdate.merge, JSON.parse(merge));
    });

    it('GetDeploymentConfiguration: a 404 is retried ten times, a minute apart, then fails', async () => {
      const { waits, sleep } = recordingSleep();
      const c = new DataPlaneClient(dataPlaneIdentityFromBundle(bundleDir), { sleep });
      try {
        await assert.rejects(c.getDeploymentConfiguration('no-such-deployment'), (e) => {
          assert.ok(e instanceof DataPlaneError, String(e));
          assert.equal(e.status, 404);
          assert.deepEqual(e.codes, ['CLOUD_API_ERROR', 'RESOURCE_NOT_FOUND']);
          return true;
        });
        assert.deepEqual(waits, Array(10).fill(CLOUD_RETRY_INTERVAL_MS));
      } finally {
        c.close();
      }
    });

    it('a 403 is not retried and names the operation', async () => {
      const { waits, sleep } = recordingSleep();
      const other = { ...dataPlaneIdentityFromBundle(bundleDir), thingName: uniqueName('someone-else') };
      const c = new DataPlaneClient(other, { sleep });
      try {
        await assert.rejects(c.getDeploymentConfiguration('any'), (e) => {
          assert.ok(e instanceof DataPlaneError, String(e));
          assert.equal(e.status, 403);
          assert.equal(e.errorCode, 'AccessDeniedException');
          assert.deepEqual(e.codes, ['CLOUD_API_ERROR', 'GET_DEPLOYMENT_CONFIGURATION_ACCESS_DENIED']);
          return true;
        });
        assert.deepEqual(waits, []);
      } finally {
        c.close();
      }
    });
  });
}
