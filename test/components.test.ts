// Greengrass V2 components end to end: artifacts uploaded through the embedded S3 endpoint (over each kind of
// artifact store), recipes published, read back, listed, tagged, deleted and resolved through
// @aws-sdk/client-greengrassv2, artifact download URLs fetched with plain fetch, and the README's worked example
// run with the AWS CLI v2. Deployments of FAILED versions are covered in deployments-components.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  ConflictException,
  CreateComponentVersionCommand,
  DeleteComponentCommand,
  DescribeComponentCommand,
  GetComponentCommand,
  GetComponentVersionArtifactCommand,
  GetDeploymentCommand,
  ListComponentsCommand,
  ListComponentVersionsCommand,
  ListTagsForResourceCommand,
  paginateListComponents,
  paginateListComponentVersions,
  ResolveComponentCandidatesCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  ValidationException,
  type Component,
  type ComponentVisibilityScope,
  type CreateComponentVersionCommandInput,
  type ComponentVersionListItem,
  type ResolveComponentCandidatesCommandInput,
} from '@aws-sdk/client-greengrassv2';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import YAML from 'yaml';
import { ManualClock } from '../src/core/clock.js';
import { NUCLEUS_VERSIONS } from '../src/core/public-components.js';
import { AWS_CLI as AWS, awsCliEnv } from './helpers/aws-cli.js';
import { STORE_KINDS } from './helpers/databases.js';
import {
  ACCOUNT,
  REGION,
  deploy,
  fieldViolation,
  minimalRecipe,
  newThingGroup,
  publishComponent,
  rejectsWith,
  uniqueName,
} from './helpers/greengrass.js';
import { startTestServer, TEST_CREDENTIALS, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const NUCLEUS = 'aws.greengrass.Nucleus';
const README = join(dirname(new URL(import.meta.url).pathname), '..', 'README.md');

const sha256Base64 = (data: Buffer) => createHash('sha256').update(data).digest('base64');
const componentArnOf = (name: string, account = ACCOUNT) => `arn:aws:greengrass:${REGION}:${account}:components:${name}`;
const versionArnOf = (name: string, version: string, account = ACCOUNT) => `${componentArnOf(name, account)}:versions:${version}`;
/** A component name no other test on the server uses. */
const component = (what: string) => uniqueName(`com.example.${what}`);
const text = (blob: Uint8Array | undefined) => Buffer.from(blob ?? new Uint8Array()).toString('utf8');

/** Publishes a recipe given as text (JSON or YAML) or as an object (sent as JSON). */
function publish(s: TestServer, recipe: string | object, extra: Omit<CreateComponentVersionCommandInput, 'inlineRecipe'> = {}) {
  const body = typeof recipe === 'string' ? recipe : JSON.stringify(recipe);
  return s.gg.send(new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(body), ...extra }));
}

/** The stored recipe of a version, as GetComponent returns it in both formats, parsed. */
async function storedRecipe(s: TestServer, arn: string): Promise<{ json: any; yaml: any; yamlText: string }> {
  const asJson = await s.gg.send(new GetComponentCommand({ arn }));
  assert.equal(asJson.recipeOutputFormat, 'JSON');
  const asYaml = await s.gg.send(new GetComponentCommand({ arn, recipeOutputFormat: 'YAML' }));
  assert.equal(asYaml.recipeOutputFormat, 'YAML');
  const yamlText = text(asYaml.recipe);
  return { json: JSON.parse(text(asJson.recipe)), yaml: YAML.parse(yamlText), yamlText };
}

function s3ClientFor(s: TestServer): S3Client {
  return new S3Client({ endpoint: s.endpoint, region: REGION, credentials: TEST_CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
}

/** A 403 from meadow's download route, with the reason in the JSON body. */
async function refusedDownload(url: string, reason: RegExp): Promise<void> {
  const res = await fetch(url);
  const body = await res.text();
  assert.equal(res.status, 403, body);
  assert.equal(res.headers.get('x-amzn-errortype'), 'AccessDeniedException');
  assert.match(JSON.parse(body).message, reason);
}

for (const kind of STORE_KINDS) {
  for (const storeKind of ['local', 's3'] as const) {
    describe(`component artifacts over the ${storeKind} artifact store (${kind})`, () => {
      // Time stands still unless a test moves it: creation timestamps are exact, and URLs expire on demand.
      const clock = new ManualClock(Date.UTC(2026, 4, 1, 12, 0, 0));
      const bucket = 'component-artifacts';
      const payload = randomBytes(300_000);
      const other = Buffer.from('#!/bin/sh\necho other\n');
      /** Keys S3 allows that a URL must carry intact: blanks, reserved and non-ASCII characters, empty segments. */
      const oddKeys: Record<string, Buffer> = {
        'odd/a file+name=1&b ü.bin': Buffer.from('odd characters'),
        'odd//double-slash.bin': Buffer.from('an empty segment'),
        '/leading-slash.bin': Buffer.from('a key that starts with a slash'),
      };
      let s: TestServer;
      let upstream: TestServer | undefined;
      let s3: S3Client;

      before(async () => {
        if (storeKind === 's3') {
          // The external S3-compatible store is played by a second meadow.
          upstream = await startTestServer(kind);
          s = await startTestServer(kind, {
            clock,
            config: {
              s3Endpoint: upstream.endpoint,
              s3AccessKeyId: TEST_CREDENTIALS.accessKeyId,
              s3SecretAccessKey: TEST_CREDENTIALS.secretAccessKey,
              s3Region: REGION,
            },
          });
        } else {
          s = await startTestServer(kind, { clock });
        }
        assert.equal(s.artifacts.kind, storeKind);
        s3 = s3ClientFor(s);
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'app/1.0.0/app.bin', Body: payload }));
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'app/1.0.0/run.sh', Body: other }));
        for (const [key, body] of Object.entries(oddKeys)) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      });
      after(async () => {
        s3.destroy();
        await s.close();
        await upstream?.close();
      });

      /** A recipe with one linux manifest carrying the given artifacts. */
      const withArtifacts = (name: string, version: string, artifacts: object[]) => ({
        RecipeFormatVersion: '2020-01-25',
        ComponentName: name,
        ComponentVersion: version,
        Manifests: [{ Platform: { os: 'linux' }, Lifecycle: { Run: 'sh {artifacts:path}/run.sh' }, Artifacts: artifacts }],
      });

      it('publishes a component whose artifacts were uploaded with the S3 client as DEPLOYABLE, with their SHA-256 digests in the recipe', async () => {
        const name = component('App');
        const binUri = `s3://${bucket}/app/1.0.0/app.bin`;
        const shUri = `s3://${bucket}/app/1.0.0/run.sh`;
        const out = await publish(
          s,
          withArtifacts(name, '1.0.0', [
            // A digest the publisher wrote is replaced by the one of the stored bytes, whatever the key's case.
            { Uri: binUri, Digest: sha256Base64(Buffer.from('not these bytes')), Algorithm: 'SHA-256' },
            { uri: shUri, digest: 'bm90IGEgZGlnZXN0', Permission: { Execute: 'OWNER' } },
          ]),
        );
        assert.equal(out.arn, versionArnOf(name, '1.0.0'));
        assert.equal(out.componentName, name);
        assert.equal(out.componentVersion, '1.0.0');
        assert.equal(out.creationTimestamp?.getTime(), clock.now());
        assert.deepEqual(out.status, { componentState: 'DEPLOYABLE', message: 'NONE', errors: {} });

        const { json, yaml, yamlText } = await storedRecipe(s, out.arn!);
        const expected = [
          { Uri: binUri, Digest: sha256Base64(payload), Algorithm: 'SHA-256' },
          { Uri: shUri, Permission: { Execute: 'OWNER' }, Digest: sha256Base64(other), Algorithm: 'SHA-256' },
        ];
        assert.deepEqual(json.Manifests[0].Artifacts, expected);
        assert.deepEqual(yaml.Manifests[0].Artifacts, expected);
        assert.match(yamlText, /^\s+Algorithm: SHA-256$/m);
        assert.equal((await s.gg.send(new DescribeComponentCommand({ arn: out.arn }))).status?.componentState, 'DEPLOYABLE');
      });

      it('an artifact whose object does not exist makes the version FAILED, with one error per unreadable URI', async () => {
        const name = component('Missing');
        const good = `s3://${bucket}/app/1.0.0/run.sh`;
        const missingKey = `s3://${bucket}/app/1.0.0/not-uploaded.bin`;
        const missingBucket = 's3://no-such-artifact-bucket/app.bin';
        const out = await publish(s, withArtifacts(name, '1.0.0', [{ Uri: good }, { Uri: missingKey }, { Uri: missingBucket }]));
        assert.equal(out.status?.componentState, 'FAILED');
        assert.equal(out.status?.message, '2 artifact(s) of the recipe could not be read.');
        assert.deepEqual(out.status?.errors, {
          [missingKey]: `Object ${missingKey} does not exist.`,
          [missingBucket]: 'Bucket no-such-artifact-bucket does not exist.',
        });
        // The version exists, FAILED, as DescribeComponent tells too.
        const described = await s.gg.send(new DescribeComponentCommand({ arn: out.arn }));
        assert.deepEqual(described.status, out.status);

        // It cannot be deployed (the refusal itself is covered in deployments-components.test.ts).
        await rejectsWith(deploy(s, { targetArn: await newThingGroup(s), components: { [name]: { componentVersion: '1.0.0' } } }), ValidationException);

        // Uploading the object afterwards does not change a published version: it stays FAILED.
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'app/1.0.0/not-uploaded.bin', Body: Buffer.from('late') }));
        assert.equal((await s.gg.send(new DescribeComponentCommand({ arn: out.arn }))).status?.componentState, 'FAILED');
      });

      it('reads the URI scheme in any case, as the recipe format does', async () => {
        const out = await publish(s, withArtifacts(component('UpperScheme'), '1.0.0', [{ Uri: `S3://${bucket}/app/1.0.0/run.sh` }]));
        assert.deepEqual(out.status, { componentState: 'DEPLOYABLE', message: 'NONE', errors: {} });
        const { json } = await storedRecipe(s, out.arn!);
        assert.equal(json.Manifests[0].Artifacts[0].Digest, sha256Base64(other));
      });

      describe('GetComponentVersionArtifact', () => {
        let arn: string;
        before(async () => {
          const out = await publish(
            s,
            withArtifacts(component('Download'), '1.0.0', [{ Uri: `s3://${bucket}/app/1.0.0/app.bin` }, { Uri: `s3://${bucket}/app/1.0.0/run.sh` }]),
          );
          assert.equal(out.status?.componentState, 'DEPLOYABLE', JSON.stringify(out.status));
          arn = out.arn!;
        });

        async function urlFor(artifactName: string): Promise<string> {
          const out = await s.gg.send(new GetComponentVersionArtifactCommand({ arn, artifactName }));
          assert.ok(out.preSignedUrl?.startsWith(`${s.endpoint}/`), out.preSignedUrl);
          return out.preSignedUrl!;
        }

        it('hands out a URL, by file name or by bucket/key, that downloads the exact bytes with plain fetch', async () => {
          for (const [artifactName, bytes] of [
            ['app.bin', payload],
            [`${bucket}/app/1.0.0/app.bin`, payload],
            ['run.sh', other],
            [`${bucket}/app/1.0.0/run.sh`, other],
          ] as const) {
            const res = await fetch(await urlFor(artifactName));
            assert.equal(res.status, 200, artifactName);
            assert.equal(res.headers.get('content-length'), String(bytes.length));
            assert.equal(res.headers.get('accept-ranges'), 'bytes');
            assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), `${artifactName} came back different`);
          }
        });

        it('serves byte ranges, so an interrupted download can be resumed', async () => {
          const url = await urlFor('app.bin');
          const cut = 123_457;
          const first = await fetch(url, { headers: { range: `bytes=0-${cut - 1}` } });
          assert.equal(first.status, 206);
          assert.equal(first.headers.get('content-range'), `bytes 0-${cut - 1}/${payload.length}`);
          const head = Buffer.from(await first.arrayBuffer());
          assert.ok(head.equals(payload.subarray(0, cut)));

          const rest = await fetch(url, { headers: { range: `bytes=${cut}-` } });
          assert.equal(rest.status, 206);
          assert.equal(rest.headers.get('content-range'), `bytes ${cut}-${payload.length - 1}/${payload.length}`);
          assert.equal(rest.headers.get('content-length'), String(payload.length - cut));
          assert.ok(Buffer.concat([head, Buffer.from(await rest.arrayBuffer())]).equals(payload));

          const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
          assert.equal(tail.status, 206);
          assert.ok(Buffer.from(await tail.arrayBuffer()).equals(payload.subarray(payload.length - 10)));

          // Past the end: 416, with the size to resume against.
          const beyond = await fetch(url, { headers: { range: `bytes=${payload.length}-` } });
          assert.equal(beyond.status, 416, await beyond.text());
          assert.equal(beyond.headers.get('content-range'), `bytes */${payload.length}`);

          // HEAD tells the size before a download starts.
          const headOnly = await fetch(url, { method: 'HEAD' });
          assert.equal(headOnly.status, 200);
          assert.equal(headOnly.headers.get('content-length'), String(payload.length));
        });

        it('downloads objects whose keys hold blanks, reserved or non-ASCII characters and empty segments', async () => {
          const uris = Object.keys(oddKeys).map((key) => `s3://${bucket}/${key}`);
          const out = await publish(s, withArtifacts(component('OddKeys'), '1.0.0', uris.map((Uri) => ({ Uri }))));
          assert.deepEqual(out.status, { componentState: 'DEPLOYABLE', message: 'NONE', errors: {} });
          const { json } = await storedRecipe(s, out.arn!);
          for (const [key, body] of Object.entries(oddKeys)) {
            assert.equal(json.Manifests[0].Artifacts.find((a: any) => a.Uri === `s3://${bucket}/${key}`).Digest, sha256Base64(body));
            for (const artifactName of [`${bucket}/${key}`, key.slice(key.lastIndexOf('/') + 1)]) {
              const { preSignedUrl } = await s.gg.send(new GetComponentVersionArtifactCommand({ arn: out.arn, artifactName }));
              const res = await fetch(preSignedUrl!);
              assert.equal(res.status, 200, `${artifactName}: ${res.status}`);
              assert.ok(Buffer.from(await res.arrayBuffer()).equals(body), artifactName);
            }
          }
        });

        it('refuses a URL that was altered with 403', async () => {
          const url = new URL(await urlFor('app.bin'));
          const ok = await fetch(url);
          assert.equal(ok.status, 200);
          await ok.arrayBuffer();

          const otherObject = new URL(url);
          otherObject.pathname = url.pathname.replace(/app\.bin$/, 'run.sh');
          await refusedDownload(otherObject.toString(), /signature does not match/);

          const later = new URL(url);
          later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
          await refusedDownload(later.toString(), /signature does not match/);

          const signature = url.searchParams.get('signature')!;
          const forged = new URL(url);
          forged.searchParams.set('signature', `${signature[0] === '0' ? '1' : '0'}${signature.slice(1)}`);
          await refusedDownload(forged.toString(), /signature does not match/);

          const unsigned = new URL(url);
          unsigned.search = '';
          await refusedDownload(unsigned.toString(), /not a meadow artifact download URL/);
        });

        it('refuses a URL after its 15 minutes with 403; a new URL works', async () => {
          const url = await urlFor('app.bin');
          clock.advance(15 * 60 * 1000); // the last second it is valid
          const stillValid = await fetch(url);
          assert.equal(stillValid.status, 200);
          await stillValid.arrayBuffer();

          clock.advance(1000);
          await refusedDownload(url, /expired/);
          const fresh = await fetch(await urlFor('app.bin'));
          assert.equal(fresh.status, 200);
          assert.ok(Buffer.from(await fresh.arrayBuffer()).equals(payload));
        });

        it('an artifact name the version does not have is ResourceNotFoundException', async () => {
          for (const artifactName of ['nothing.bin', `${bucket}/app/1.0.0/nothing.bin`, 'other-bucket/app/1.0.0/app.bin']) {
            const err = await rejectsWith(s.gg.send(new GetComponentVersionArtifactCommand({ arn, artifactName })), ResourceNotFoundException);
            assert.equal(err.$metadata.httpStatusCode, 404);
            assert.ok(err.message.includes(artifactName), err.message);
          }
          const noVersion = versionArnOf(component('Nothing'), '1.0.0');
          await rejectsWith(s.gg.send(new GetComponentVersionArtifactCommand({ arn: noVersion, artifactName: 'app.bin' })), ResourceNotFoundException);
        });
      });
    });
  }

  describe(`recipes through CreateComponentVersion and GetComponent (${kind})`, () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 2, 8, 0, 0));
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind, { clock });
    });
    after(() => s.close());

    it('publishes YAML and reads it back as JSON and as YAML', async () => {
      const name = component('Yaml');
      const yamlRecipe = [
        '---',
        "RecipeFormatVersion: '2020-01-25'",
        `ComponentName: ${name}`,
        'ComponentVersion: 1.2.3',
        'ComponentDescription: Says hello.',
        'ComponentPublisher: Example Corp',
        'ComponentConfiguration:',
        '  DefaultConfiguration:',
        '    Message: world',
        '    on: yes',
        'Manifests:',
        '  - Name: Linux',
        '    Platform:',
        '      os: linux',
        '    Lifecycle:',
        '      Run: |',
        '        echo "Hello, {configuration:/Message}"',
        '        sleep 1',
        '',
      ].join('\n');
      const out = await publish(s, yamlRecipe);
      assert.equal(out.componentVersion, '1.2.3');

      const expected = {
        RecipeFormatVersion: '2020-01-25',
        ComponentName: name,
        ComponentVersion: '1.2.3',
        ComponentDescription: 'Says hello.',
        ComponentPublisher: 'Example Corp',
        // YAML 1.2: `yes` is the string it looks like.
        ComponentConfiguration: { DefaultConfiguration: { Message: 'world', on: 'yes' } },
        Manifests: [{ Name: 'Linux', Platform: { os: 'linux' }, Lifecycle: { Run: 'echo "Hello, {configuration:/Message}"\nsleep 1\n' } }],
      };
      const { json, yaml, yamlText } = await storedRecipe(s, out.arn!);
      assert.deepEqual(json, expected);
      assert.deepEqual(yaml, expected);
      // Strings a YAML 1.1 reader would take for a date or a boolean are quoted, so every reader agrees.
      assert.deepEqual(YAML.parse(yamlText, { version: '1.1' }), expected);
    });

    it('reads recipe keys case-insensitively and writes them back with their canonical names; user data keeps its case', async () => {
      const name = component('Lower');
      const out = await publish(s, {
        recipeformatversion: '2020-01-25',
        componentname: name,
        componentVERSION: '2.0.0',
        componentdescription: 'lower-case keys',
        componentdependencies: { [NUCLEUS]: { versionrequirement: '>=2.12.0', dependencytype: 'SOFT' } },
        componentconfiguration: { defaultconfiguration: { someKey: { NestedKey: 1 } } },
        manifests: [{ platform: { os: 'linux' }, lifecycle: { setenv: { MY_VAR: 'x' }, run: { script: 'echo hi', requiresprivilege: true } } }],
      });
      assert.equal(out.componentName, name);
      assert.equal(out.componentVersion, '2.0.0');
      const { json, yaml } = await storedRecipe(s, out.arn!);
      const expected = {
        RecipeFormatVersion: '2020-01-25',
        ComponentName: name,
        ComponentVersion: '2.0.0',
        ComponentDescription: 'lower-case keys',
        ComponentDependencies: { [NUCLEUS]: { VersionRequirement: '>=2.12.0', DependencyType: 'SOFT' } },
        ComponentConfiguration: { DefaultConfiguration: { someKey: { NestedKey: 1 } } },
        Manifests: [{ Platform: { os: 'linux' }, Lifecycle: { Setenv: { MY_VAR: 'x' }, Run: { Script: 'echo hi', RequiresPrivilege: true } } }],
      };
      assert.deepEqual(json, expected);
      assert.deepEqual(yaml, expected);
      // Canonical order too, not just canonical names.
      assert.deepEqual(Object.keys(json), Object.keys(expected));
    });

    describe('refuses a recipe that breaks a rule with ValidationException naming the recipe path and the rule', () => {
      const base = (name: string) => ({
        RecipeFormatVersion: '2020-01-25',
        ComponentName: name,
        ComponentVersion: '1.0.0',
        Manifests: [{ Lifecycle: { Run: 'echo hi' } }],
      });
      const cases: { rule: string; recipe: (name: string) => object; path: string; says: RegExp }[] = [
        {
          rule: 'an unknown RecipeFormatVersion',
          recipe: (n) => ({ ...base(n), RecipeFormatVersion: '2021-01-01' }),
          path: 'RecipeFormatVersion',
          says: /must be '2020-01-25'.*got '2021-01-01'/,
        },
        {
          rule: 'a ComponentVersion that is not a semantic version',
          recipe: (n) => ({ ...base(n), ComponentVersion: '1.0' }),
          path: 'ComponentVersion',
          says: /semantic version.*got '1\.0'/,
        },
        {
          rule: 'an artifact URI with an unsupported scheme',
          recipe: (n) => ({
            ...base(n),
            Manifests: [{ Lifecycle: { Run: 'echo hi' }, Artifacts: [{ Uri: 's3://bucket/ok.zip' }, { Uri: 'https://example.com/app.zip' }] }],
          }),
          path: 'Manifests[0].Artifacts[1].Uri',
          says: /unsupported scheme 'https'/,
        },
        {
          rule: 'Startup and Run in one lifecycle',
          recipe: (n) => ({ ...base(n), Manifests: [{ Lifecycle: { Startup: 'start.sh', Run: 'run.sh' } }] }),
          path: 'Manifests[0].Lifecycle',
          says: /Startup and Run are mutually exclusive/,
        },
        {
          rule: 'a VersionRequirement that is not a range',
          recipe: (n) => ({ ...base(n), ComponentDependencies: { 'com.example.Dep': { VersionRequirement: 'latest please' } } }),
          path: 'ComponentDependencies[com.example.Dep].VersionRequirement',
          says: /npm-style version range.*got 'latest please'/,
        },
      ];
      for (const c of cases) {
        it(c.rule, async () => {
          const name = component('Invalid');
          const err = await rejectsWith(publish(s, c.recipe(name)), ValidationException);
          assert.equal(err.$metadata.httpStatusCode, 400);
          assert.equal(err.fields?.length, 1, JSON.stringify(err.fields));
          const field = fieldViolation(err, c.path, { validatorWording: false });
          assert.match(field.message!, c.says);
          // Nothing was published.
          await rejectsWith(s.gg.send(new DescribeComponentCommand({ arn: versionArnOf(name, '1.0.0') })), ResourceNotFoundException);
        });
      }

      it('every broken rule at once, each at its own path', async () => {
        const err = await rejectsWith(
          publish(s, { ...base(component('Invalid')), RecipeFormatVersion: 'x', ComponentVersion: 'v1', Manifests: [{ Lifecycle: { Startup: 'a', Run: 'b' } }] }),
          ValidationException,
        );
        assert.deepEqual(err.fields?.map((f) => f.name).sort(), ['ComponentVersion', 'Manifests[0].Lifecycle', 'RecipeFormatVersion']);
        assert.match(err.message, /^3 validation errors detected: /);
      });

      it('a recipe that is neither JSON nor YAML', async () => {
        const err = await rejectsWith(publish(s, '{"RecipeFormatVersion": "2020-01-25",'), ValidationException);
        assert.match(fieldViolation(err, 'recipe', { validatorWording: false }).message!, /not valid JSON/);
      });
    });

    it('lambdaFunction is ValidationException naming lambdaFunction', async () => {
      const err = await rejectsWith(
        s.gg.send(
          new CreateComponentVersionCommand({
            lambdaFunction: { lambdaArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:hello:1`, componentName: component('Lambda'), componentVersion: '1.0.0' },
          }),
        ),
        ValidationException,
      );
      assert.match(fieldViolation(err, 'lambdaFunction').message!, /inlineRecipe/);
    });

    it('neither inlineRecipe nor lambdaFunction is ValidationException naming inlineRecipe', async () => {
      const err = await rejectsWith(s.gg.send(new CreateComponentVersionCommand({})), ValidationException);
      assert.match(fieldViolation(err, 'inlineRecipe').message!, /must not be null/);
    });

    it('publishing a name and version that exist is ConflictException; the first recipe stays', async () => {
      const name = component('Twice');
      const first = await publish(s, minimalRecipe(name, '1.0.0'));
      const err = await rejectsWith(publish(s, { ...JSON.parse(minimalRecipe(name, '1.0.0')), ComponentDescription: 'second' }), ConflictException);
      assert.equal(err.$metadata.httpStatusCode, 409);
      assert.equal(err.resourceType, 'componentVersion');
      assert.equal(err.resourceId, first.arn);
      assert.ok(err.message.includes(`${name} version 1.0.0 already exists`), err.message);
      const { json } = await storedRecipe(s, first.arn!);
      assert.equal(json.ComponentDescription, undefined);
    });

    it('a clientToken repeats the first response for the same recipe and is ConflictException for another', async () => {
      const name = component('Token');
      const clientToken = uniqueName('token');
      const first = await publish(s, minimalRecipe(name, '1.0.0'), { clientToken, tags: { team: 'a' } });
      clock.advance(5000);
      const again = await publish(s, minimalRecipe(name, '1.0.0'), { clientToken, tags: { team: 'a' } });
      assert.deepEqual(
        { ...again, $metadata: undefined },
        { ...first, $metadata: undefined },
      );
      assert.equal(again.creationTimestamp?.getTime(), first.creationTimestamp?.getTime());
      assert.notEqual(first.creationTimestamp?.getTime(), clock.now());

      const err = await rejectsWith(publish(s, minimalRecipe(name, '1.0.1'), { clientToken, tags: { team: 'a' } }), ConflictException);
      assert.equal(err.resourceType, 'clientToken');
      assert.equal(err.resourceId, clientToken);
      await rejectsWith(s.gg.send(new DescribeComponentCommand({ arn: versionArnOf(name, '1.0.1') })), ResourceNotFoundException);
      // Without the token, the same recipe is a second publication: ConflictException for the version.
      const twice = await rejectsWith(publish(s, minimalRecipe(name, '1.0.0')), ConflictException);
      assert.equal(twice.resourceType, 'componentVersion');
    });
  });

  describe(`DescribeComponent, DeleteComponent and tags (${kind})`, () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 3, 9, 30, 0));
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind, { clock });
    });
    after(() => s.close());

    it('DescribeComponent tells publisher, description, platforms from the manifests, status, creation time and tags', async () => {
      const name = component('Described');
      const out = await publish(
        s,
        {
          RecipeFormatVersion: '2020-01-25',
          ComponentName: name,
          ComponentVersion: '3.1.0',
          ComponentDescription: 'A described component.',
          ComponentPublisher: 'Example Corp',
          Manifests: [
            { Name: 'Linux ARM', Platform: { os: 'linux', architecture: '/aarch64|arm/' }, Lifecycle: { Run: 'echo arm' } },
            { Platform: { os: 'windows' }, Lifecycle: { Run: 'echo win' } },
            { Lifecycle: { Run: 'echo anything' } },
          ],
        },
        { tags: { env: 'test', owner: 'meadow' } },
      );
      const d = await s.gg.send(new DescribeComponentCommand({ arn: out.arn }));
      assert.equal(d.arn, versionArnOf(name, '3.1.0'));
      assert.equal(d.componentName, name);
      assert.equal(d.componentVersion, '3.1.0');
      assert.equal(d.publisher, 'Example Corp');
      assert.equal(d.description, 'A described component.');
      assert.equal(d.creationTimestamp?.getTime(), clock.now());
      assert.deepEqual(d.status, { componentState: 'DEPLOYABLE', message: 'NONE', errors: {} });
      assert.deepEqual(d.platforms, [
        { name: 'Linux ARM', attributes: { os: 'linux', architecture: '/aarch64|arm/' } },
        { attributes: { os: 'windows' } },
        { attributes: {} },
      ]);
      assert.deepEqual(d.tags, { env: 'test', owner: 'meadow' });
      assert.deepEqual((await s.gg.send(new GetComponentCommand({ arn: out.arn }))).tags, { env: 'test', owner: 'meadow' });
    });

    it('DescribeComponent of a public nucleus version: an ARN with account aws', async () => {
      const version = NUCLEUS_VERSIONS.at(-1)!;
      const arn = versionArnOf(NUCLEUS, version, 'aws');
      const d = await s.gg.send(new DescribeComponentCommand({ arn }));
      assert.equal(d.arn, arn);
      assert.equal(d.componentName, NUCLEUS);
      assert.equal(d.componentVersion, version);
      assert.equal(d.publisher, 'AWS');
      assert.deepEqual(d.status, { componentState: 'DEPLOYABLE', message: 'NONE', errors: {} });
      assert.deepEqual(d.platforms?.map((p) => p.attributes), [{ os: 'linux' }, { os: 'darwin' }, { os: 'windows' }]);
      assert.ok(d.creationTimestamp instanceof Date);
      assert.equal(d.tags, undefined);
      const { recipe } = await s.gg.send(new GetComponentCommand({ arn }));
      assert.equal(JSON.parse(text(recipe)).ComponentType, 'aws.greengrass.nucleus');
      // Under the caller's own account there is no such version.
      await rejectsWith(s.gg.send(new DescribeComponentCommand({ arn: versionArnOf(NUCLEUS, version) })), ResourceNotFoundException);
    });

    it('DescribeComponent and GetComponent of a version that does not exist are ResourceNotFoundException', async () => {
      const name = component('Nothing');
      await publishComponent(s, name, '1.0.0');
      for (const arn of [versionArnOf(name, '1.0.1'), versionArnOf(component('Nothing'), '1.0.0'), versionArnOf(NUCLEUS, '1.0.0', 'aws')]) {
        const err = await rejectsWith(s.gg.send(new DescribeComponentCommand({ arn })), ResourceNotFoundException);
        assert.equal(err.resourceId, arn);
        await rejectsWith(s.gg.send(new GetComponentCommand({ arn })), ResourceNotFoundException);
      }
    });

    it('DeleteComponent removes that version only; its ARN is then ResourceNotFoundException', async () => {
      const name = component('Deleted');
      for (const v of ['1.0.0', '1.1.0', '2.0.0']) await publishComponent(s, name, v);
      await s.gg.send(new DeleteComponentCommand({ arn: versionArnOf(name, '1.1.0') }));

      await rejectsWith(s.gg.send(new GetComponentCommand({ arn: versionArnOf(name, '1.1.0') })), ResourceNotFoundException);
      await rejectsWith(s.gg.send(new DescribeComponentCommand({ arn: versionArnOf(name, '1.1.0') })), ResourceNotFoundException);
      const left = await s.gg.send(new ListComponentVersionsCommand({ arn: componentArnOf(name) }));
      assert.deepEqual(left.componentVersions?.map((v) => v.componentVersion), ['2.0.0', '1.0.0']);
      assert.equal(JSON.parse(text((await s.gg.send(new GetComponentCommand({ arn: versionArnOf(name, '1.0.0') }))).recipe)).ComponentVersion, '1.0.0');

      // Deleting it again, or a version that never was, is ResourceNotFoundException.
      const again = await rejectsWith(s.gg.send(new DeleteComponentCommand({ arn: versionArnOf(name, '1.1.0') })), ResourceNotFoundException);
      assert.equal(again.resourceId, versionArnOf(name, '1.1.0'));
      await rejectsWith(s.gg.send(new DeleteComponentCommand({ arn: versionArnOf(component('Nothing'), '1.0.0') })), ResourceNotFoundException);

      // The last version gone, the component is gone.
      await s.gg.send(new DeleteComponentCommand({ arn: versionArnOf(name, '1.0.0') }));
      await s.gg.send(new DeleteComponentCommand({ arn: versionArnOf(name, '2.0.0') }));
      await rejectsWith(s.gg.send(new ListComponentVersionsCommand({ arn: componentArnOf(name) })), ResourceNotFoundException);
    });

    it('DeleteComponent of a public component version is ValidationException', async () => {
      const arn = versionArnOf(NUCLEUS, NUCLEUS_VERSIONS[0], 'aws');
      const err = await rejectsWith(s.gg.send(new DeleteComponentCommand({ arn })), ValidationException);
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.match(err.message, /public component/);
      assert.equal((await s.gg.send(new DescribeComponentCommand({ arn }))).componentVersion, NUCLEUS_VERSIONS[0]);
    });

    it('tags a component version ARN and a component ARN separately: TagResource, ListTagsForResource, UntagResource', async () => {
      const name = component('Tagged');
      const v1 = (await publishComponent(s, name, '1.0.0')).arn!;
      const created = await publish(s, minimalRecipe(name, '2.0.0'), { tags: { stage: 'beta' } });
      const v2 = created.arn!;
      const componentArn = componentArnOf(name);
      const tagsOf = async (resourceArn: string) => (await s.gg.send(new ListTagsForResourceCommand({ resourceArn }))).tags;

      assert.deepEqual(await tagsOf(v2), { stage: 'beta' });
      assert.deepEqual(await tagsOf(v1), {});
      assert.deepEqual(await tagsOf(componentArn), {});

      await s.gg.send(new TagResourceCommand({ resourceArn: v2, tags: { owner: 'ops', stage: 'ga' } }));
      await s.gg.send(new TagResourceCommand({ resourceArn: componentArn, tags: { product: 'hello', cost: '42' } }));
      assert.deepEqual(await tagsOf(v2), { owner: 'ops', stage: 'ga' });
      assert.deepEqual(await tagsOf(componentArn), { cost: '42', product: 'hello' });
      assert.deepEqual(await tagsOf(v1), {});
      assert.deepEqual((await s.gg.send(new DescribeComponentCommand({ arn: v2 }))).tags, { owner: 'ops', stage: 'ga' });

      await s.gg.send(new UntagResourceCommand({ resourceArn: v2, tagKeys: ['stage', 'not-there'] }));
      await s.gg.send(new UntagResourceCommand({ resourceArn: componentArn, tagKeys: ['cost'] }));
      assert.deepEqual(await tagsOf(v2), { owner: 'ops' });
      assert.deepEqual(await tagsOf(componentArn), { product: 'hello' });

      // A deleted version's tags go with it, and the component's go with its last version.
      await s.gg.send(new DeleteComponentCommand({ arn: v2 }));
      await rejectsWith(s.gg.send(new ListTagsForResourceCommand({ resourceArn: v2 })), ResourceNotFoundException);
      assert.deepEqual(await tagsOf(componentArn), { product: 'hello' });
      await publish(s, minimalRecipe(name, '2.0.0'));
      assert.deepEqual(await tagsOf(v2), {});
    });

    it('tags on a component or version that does not exist are ResourceNotFoundException', async () => {
      const name = component('Untaggable');
      await publishComponent(s, name, '1.0.0');
      for (const resourceArn of [versionArnOf(name, '9.9.9'), componentArnOf(component('Nothing')), versionArnOf(component('Nothing'), '1.0.0')]) {
        const err = await rejectsWith(s.gg.send(new ListTagsForResourceCommand({ resourceArn })), ResourceNotFoundException);
        assert.equal(err.resourceId, resourceArn);
        await rejectsWith(s.gg.send(new TagResourceCommand({ resourceArn, tags: { a: 'b' } })), ResourceNotFoundException);
        await rejectsWith(s.gg.send(new UntagResourceCommand({ resourceArn, tagKeys: ['a'] })), ResourceNotFoundException);
      }
    });
  });

  describe(`ListComponents and ListComponentVersions (${kind})`, () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 4, 0, 0, 0));
    let s: TestServer;
    /** name -> versions, in the order they are published. */
    const published: Record<string, string[]> = {
      'com.example.Alpha': ['1.10.0', '1.9.0', '1.2.0'],
      'com.example.Beta': ['2.0.0-rc.1', '1.0.0', '2.0.0'],
      'com.example.Gamma': ['0.1.0'],
      'com.example.delta': ['5.0.0', '10.0.0', '9.1.0'],
      'com.example.Epsilon': ['1.0.0'],
      'com.example.Zeta': ['3.0.0', '3.0.1'],
      'Other.Vendor.Thing': ['1.0.0-alpha', '1.0.0-beta', '1.0.0-alpha.1'],
      // Equal precedence, told apart by build metadata: still each its own version, in one order.
      'com.example.Builds': ['1.0.0+build.1', '1.0.0', '1.0.0+build.3', '0.9.0', '1.0.0+build.2'],
    };
    /** The latest of each: by semantic version, not by publication order or string order. */
    const latest: Record<string, string> = {
      'com.example.Alpha': '1.10.0',
      'com.example.Beta': '2.0.0',
      'com.example.Gamma': '0.1.0',
      'com.example.delta': '10.0.0',
      'com.example.Epsilon': '1.0.0',
      'com.example.Zeta': '3.0.1',
      'Other.Vendor.Thing': '1.0.0-beta',
      'com.example.Builds': '1.0.0+build.3',
    };
    before(async () => {
      s = await startTestServer(kind, { clock });
      for (const [name, versions] of Object.entries(published)) {
        for (const version of versions) {
          clock.advance(1000);
          await publish(s, {
            ...JSON.parse(minimalRecipe(name, version)),
            ComponentDescription: `${name} ${version}`,
            ComponentPublisher: 'Example Corp',
            Manifests: [{ Platform: { os: 'linux' }, Lifecycle: { Run: 'true' } }],
          });
        }
      }
    });
    after(() => s.close());

    async function listAll(scope: 'PRIVATE' | 'PUBLIC' | 'ALL' | undefined, pageSize?: number): Promise<{ items: Component[]; tokens: string[] }> {
      const items: Component[] = [];
      const tokens: string[] = [];
      // ALL is meadow's (see model/patches.json); the SDK's type lists only PRIVATE and PUBLIC but sends any string.
      for await (const page of paginateListComponents({ client: s.gg, pageSize }, { scope: scope as ComponentVisibilityScope | undefined })) {
        if (pageSize !== undefined) assert.ok((page.components?.length ?? 0) <= pageSize, `a page of ${page.components?.length} items`);
        items.push(...(page.components ?? []));
        if (page.nextToken) tokens.push(page.nextToken);
      }
      return { items, tokens };
    }

    it('PRIVATE (the default) lists each of the caller’s components once, with its latest version', async () => {
      const page = await s.gg.send(new ListComponentsCommand({}));
      assert.equal(page.nextToken, undefined);
      const components = page.components ?? [];
      assert.deepEqual(components.map((c) => c.componentName).sort(), Object.keys(published).sort());
      for (const c of components) {
        const name = c.componentName!;
        const version = latest[name];
        assert.equal(c.arn, componentArnOf(name));
        assert.equal(c.latestVersion?.componentVersion, version, name);
        assert.equal(c.latestVersion?.arn, versionArnOf(name, version));
        assert.equal(c.latestVersion?.description, `${name} ${version}`);
        assert.equal(c.latestVersion?.publisher, 'Example Corp');
        assert.deepEqual(c.latestVersion?.platforms, [{ attributes: { os: 'linux' } }]);
        assert.ok(c.latestVersion?.creationTimestamp instanceof Date);
      }
      assert.deepEqual((await s.gg.send(new ListComponentsCommand({ scope: 'PRIVATE' }))).components, components);
    });

    it('PUBLIC lists the nucleus with its highest version; ALL lists both', async () => {
      const publicOnes = (await s.gg.send(new ListComponentsCommand({ scope: 'PUBLIC' }))).components ?? [];
      assert.deepEqual(
        publicOnes.map((c) => [c.componentName, c.arn, c.latestVersion?.componentVersion, c.latestVersion?.arn]),
        [[NUCLEUS, componentArnOf(NUCLEUS, 'aws'), NUCLEUS_VERSIONS.at(-1), versionArnOf(NUCLEUS, NUCLEUS_VERSIONS.at(-1)!, 'aws')]],
      );
      const all = (await listAll('ALL')).items;
      assert.deepEqual(all.map((c) => c.componentName).sort(), [...Object.keys(published), NUCLEUS].sort());
    });

    for (const scope of ['PRIVATE', 'ALL'] as const) {
      it(`paginates ${scope} with small pages: every component once, no token twice`, async () => {
        const expected = [...Object.keys(published), ...(scope === 'ALL' ? [NUCLEUS] : [])].sort();
        for (const pageSize of [1, 2, 3]) {
          const { items, tokens } = await listAll(scope, pageSize);
          assert.deepEqual(items.map((c) => c.componentName).sort(), expected, `pageSize ${pageSize}`);
          assert.equal(new Set(tokens).size, tokens.length, `a nextToken came twice: ${tokens}`);
          assert.equal(tokens.length, Math.ceil(expected.length / pageSize) - 1, `pageSize ${pageSize}`);
        }
      });
    }

    it('ListComponentVersions lists versions newest first, across pages', async () => {
      for (const [name, versions] of Object.entries(published)) {
        const collected: ComponentVersionListItem[] = [];
        const tokens: string[] = [];
        for await (const page of paginateListComponentVersions({ client: s.gg, pageSize: 2 }, { arn: componentArnOf(name) })) {
          collected.push(...(page.componentVersions ?? []));
          if (page.nextToken) tokens.push(page.nextToken);
        }
        assert.equal(new Set(tokens).size, tokens.length);
        const newestFirst = {
          'com.example.Alpha': ['1.10.0', '1.9.0', '1.2.0'],
          'com.example.Beta': ['2.0.0', '2.0.0-rc.1', '1.0.0'],
          'com.example.Gamma': ['0.1.0'],
          'com.example.delta': ['10.0.0', '9.1.0', '5.0.0'],
          'com.example.Epsilon': ['1.0.0'],
          'com.example.Zeta': ['3.0.1', '3.0.0'],
          'Other.Vendor.Thing': ['1.0.0-beta', '1.0.0-alpha.1', '1.0.0-alpha'],
          'com.example.Builds': ['1.0.0+build.3', '1.0.0+build.2', '1.0.0+build.1', '1.0.0', '0.9.0'],
        }[name]!;
        assert.deepEqual(
          collected,
          newestFirst.map((v) => ({ componentName: name, componentVersion: v, arn: versionArnOf(name, v) })),
        );
        assert.deepEqual([...versions].sort(), [...newestFirst].sort()); // the table above lists what was published
      }
    });

    it('ListComponentVersions of the public nucleus lists the versions meadow ships', async () => {
      const versions: string[] = [];
      for await (const page of paginateListComponentVersions({ client: s.gg, pageSize: 7 }, { arn: componentArnOf(NUCLEUS, 'aws') })) {
        versions.push(...(page.componentVersions ?? []).map((v) => v.componentVersion!));
      }
      assert.deepEqual(versions, [...NUCLEUS_VERSIONS].reverse());
    });

    it('ListComponentVersions of a component that does not exist is ResourceNotFoundException', async () => {
      for (const arn of [componentArnOf('com.example.Nothing'), componentArnOf('com.example.Alpha', '210987654321')]) {
        const err = await rejectsWith(s.gg.send(new ListComponentVersionsCommand({ arn })), ResourceNotFoundException);
        assert.equal(err.resourceId, arn);
      }
    });
  });

  describe(`ResolveComponentCandidates (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
    });
    after(() => s.close());

    const linux = { attributes: { os: 'linux', architecture: 'amd64' } };
    const resolve = (input: ResolveComponentCandidatesCommandInput) => s.gg.send(new ResolveComponentCandidatesCommand(input));
    /** A version with one manifest for `os`. */
    const forOs = (name: string, version: string, os: string) =>
      publish(s, { ...JSON.parse(minimalRecipe(name, version)), Manifests: [{ Platform: { os }, Lifecycle: { Run: `echo ${version}` } }] });

    it('picks the highest version that satisfies the overlapping ranges of two dependents, and returns its stored JSON recipe', async () => {
      const name = component('Resolved');
      for (const v of ['1.0.0', '1.4.0', '1.5.2', '1.7.0', '2.0.0']) await forOs(name, v, 'linux');
      const out = await resolve({
        platform: linux,
        componentCandidates: [{ componentName: name, componentVersion: '1.5.2', versionRequirements: { 'thinggroup/A': '>=1.2.0 <1.7.0', 'thinggroup/B': '^1.4.0' } }],
      });
      assert.equal(out.resolvedComponentVersions?.length, 1);
      const [r] = out.resolvedComponentVersions!;
      assert.equal(r.componentName, name);
      assert.equal(r.componentVersion, '1.5.2');
      assert.equal(r.arn, versionArnOf(name, '1.5.2'));
      assert.equal(r.vendorGuidance, 'ACTIVE');
      const stored = await s.gg.send(new GetComponentCommand({ arn: r.arn, recipeOutputFormat: 'JSON' }));
      assert.equal(text(r.recipe), text(stored.recipe));
      assert.equal(JSON.parse(text(r.recipe)).ComponentVersion, '1.5.2');
    });

    it('resolves several candidates in one request, the public nucleus among them', async () => {
      const name = component('Several');
      await forOs(name, '1.0.0', 'linux');
      const out = await resolve({
        platform: linux,
        componentCandidates: [
          { componentName: name, versionRequirements: { 'thinggroup/A': '>=1.0.0' } },
          { componentName: NUCLEUS, versionRequirements: { 'thinggroup/A': '>=2.14.0 <2.15.0' } },
        ],
      });
      assert.deepEqual(
        out.resolvedComponentVersions?.map((r) => [r.componentName, r.componentVersion, r.arn]),
        [
          [name, '1.0.0', versionArnOf(name, '1.0.0')],
          [NUCLEUS, '2.14.3', versionArnOf(NUCLEUS, '2.14.3', 'aws')],
        ],
      );
    });

    it('ranges no version satisfies together are ResourceNotFoundException naming each dependent’s requirement', async () => {
      const name = component('Conflicted');
      for (const v of ['1.0.0', '2.0.0']) await forOs(name, v, 'linux');
      const err = await rejectsWith(
        resolve({ platform: linux, componentCandidates: [{ componentName: name, versionRequirements: { 'thinggroup/B': '>=2.0.0', 'thinggroup/A': '=1.0.0' } }] }),
        ResourceNotFoundException,
      );
      assert.equal(err.$metadata.httpStatusCode, 404);
      assert.ok(err.message.includes('no usable version'), err.message);
      assert.ok(err.message.includes(`Component ${name} version constraints: thinggroup/A requires =1.0.0, thinggroup/B requires >=2.0.0`), err.message);
    });

    it('versions for another platform only are ResourceNotFoundException saying none claims the platform', async () => {
      const name = component('WindowsOnly');
      for (const v of ['1.0.0', '1.1.0']) await forOs(name, v, 'windows');
      const err = await rejectsWith(
        resolve({ platform: linux, componentCandidates: [{ componentName: name, versionRequirements: { 'thinggroup/A': '^1.0.0' } }] }),
        ResourceNotFoundException,
      );
      assert.ok(err.message.includes('claim platform'), err.message);
      assert.ok(err.message.includes('(1.1.0, 1.0.0)'), err.message);
      // The platform decides: the same request for a Windows device resolves.
      const ok = await resolve({ platform: { attributes: { os: 'windows' } }, componentCandidates: [{ componentName: name, versionRequirements: { 'thinggroup/A': '^1.0.0' } }] });
      assert.equal(ok.resolvedComponentVersions?.[0].componentVersion, '1.1.0');
    });

    it('never chooses a FAILED version, even when it is the highest that fits', async () => {
      const name = component('SkipFailed');
      await forOs(name, '1.0.0', 'linux');
      const failed = await publishComponent(s, name, '1.1.0', { artifacts: ['s3://no-such-bucket/app.zip'] });
      assert.equal(failed.status?.componentState, 'FAILED');
      const out = await resolve({ platform: linux, componentCandidates: [{ componentName: name, versionRequirements: { 'thinggroup/A': '>=1.0.0' } }] });
      assert.equal(out.resolvedComponentVersions?.[0].componentVersion, '1.0.0');
      // Only the FAILED version fits: no usable version.
      const err = await rejectsWith(
        resolve({ platform: linux, componentCandidates: [{ componentName: name, versionRequirements: { 'thinggroup/A': '=1.1.0' } }] }),
        ResourceNotFoundException,
      );
      assert.ok(err.message.includes('no usable version'), err.message);
    });

    it('a component that does not exist is ResourceNotFoundException; a requirement that is not a range is ValidationException', async () => {
      const missing = component('Nothing');
      const err = await rejectsWith(
        resolve({ platform: linux, componentCandidates: [{ componentName: missing, versionRequirements: { 'thinggroup/A': '^1.0.0' } }] }),
        ResourceNotFoundException,
      );
      assert.ok(err.message.includes(`Component ${missing} does not exist`), err.message);

      const name = component('BadRange');
      await forOs(name, '1.0.0', 'linux');
      const bad = await rejectsWith(
        resolve({ platform: linux, componentCandidates: [{ componentName: name, versionRequirements: { 'thinggroup/A': 'newest' } }] }),
        ValidationException,
      );
      assert.ok(bad.message.includes('"newest"'), bad.message);
    });
  });

  describe(`the README's worked example with the AWS CLI v2 (${kind})`, () => {
    // These are the README's commands, character for character (the test checks that the README has each of them),
    // run by bash with ENDPOINT set as the README sets it.
    const RECIPE_YAML = [
      "RecipeFormatVersion: '2020-01-25'",
      'ComponentName: com.example.HelloWorld',
      "ComponentVersion: '1.0.0'",
      'ComponentDescription: Says hello.',
      'ComponentPublisher: Me',
      'ComponentConfiguration:',
      '  DefaultConfiguration:',
      '    Message: world',
      'Manifests:',
      '  - Platform:',
      '      os: linux',
      '    Lifecycle:',
      "      Run: sh {artifacts:path}/hello.sh '{configuration:/Message}'",
      '    Artifacts:',
      '      - Uri: s3://hello-artifacts/hello-world/1.0.0/hello.sh',
      '',
    ].join('\n');
    const COMMANDS = {
      artifact: `printf '#!/bin/sh\\necho "Hello, $1!"\\n' > hello.sh`,
      makeBucket: 'aws s3 mb s3://hello-artifacts --endpoint-url $ENDPOINT',
      upload: 'aws s3 cp hello.sh s3://hello-artifacts/hello-world/1.0.0/hello.sh --endpoint-url $ENDPOINT',
      publish: 'aws greengrassv2 create-component-version --inline-recipe fileb://recipe.yaml --endpoint-url $ENDPOINT',
      list: 'aws greengrassv2 list-components --endpoint-url $ENDPOINT',
      getYaml:
        'aws greengrassv2 get-component --endpoint-url $ENDPOINT --recipe-output-format YAML --query recipe --output text \\\n' +
        '  --arn arn:aws:greengrass:us-east-1:123456789012:components:com.example.HelloWorld:versions:1.0.0 | base64 -d',
      group: 'aws iot create-thing-group --thing-group-name HelloFleet --endpoint-url $ENDPOINT',
      deploy:
        'aws greengrassv2 create-deployment --endpoint-url $ENDPOINT \\\n' +
        '  --target-arn arn:aws:iot:us-east-1:123456789012:thinggroup/HelloFleet \\\n' +
        `  --components '{"com.example.HelloWorld":{"componentVersion":"1.0.0"}}'`,
    };

    let s: TestServer;
    let home: string;
    let work: string;
    before(async () => {
      s = await startTestServer(kind);
      home = mkdtempSync(join(tmpdir(), 'meadow-cli-home-'));
      work = mkdtempSync(join(tmpdir(), 'meadow-cli-work-'));
    });
    after(async () => {
      await s.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    /** Runs one README command line with bash, as a reader would paste it; returns its stdout. */
    async function sh(command: string): Promise<string> {
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', command], {
        cwd: work,
        // The CLI v2 first on PATH, whatever else is there.
          env: awsCliEnv(home, { PATH: `${dirname(AWS)}:${process.env.PATH}`, ENDPOINT: s.endpoint }),
      });
      return stdout;
    }

    it('the README shows exactly the recipe and the commands run here', () => {
      const readme = readFileSync(README, 'utf8');
      assert.ok(readme.includes('```yaml\n' + RECIPE_YAML + '```'), 'README.md does not show the recipe.yaml of this test');
      for (const [step, command] of Object.entries(COMMANDS)) assert.ok(readme.includes(`\n${command}\n`), `README.md does not show the ${step} command:\n${command}`);
    });

    it('uploads an artifact with aws s3, publishes the recipe, lists and reads it back, and deploys it', async () => {
      writeFileSync(join(work, 'recipe.yaml'), RECIPE_YAML);
      await sh(COMMANDS.artifact);
      const script = readFileSync(join(work, 'hello.sh'));
      assert.equal(script.toString(), '#!/bin/sh\necho "Hello, $1!"\n');

      assert.match(await sh(COMMANDS.makeBucket), /make_bucket: hello-artifacts/);
      assert.match(await sh(COMMANDS.upload), /upload: \.\/hello\.sh to s3:\/\/hello-artifacts\/hello-world\/1\.0\.0\/hello\.sh/);

      const published = JSON.parse(await sh(COMMANDS.publish));
      const arn = 'arn:aws:greengrass:us-east-1:123456789012:components:com.example.HelloWorld:versions:1.0.0';
      assert.equal(published.arn, arn);
      assert.equal(published.componentName, 'com.example.HelloWorld');
      assert.equal(published.componentVersion, '1.0.0');
      assert.deepEqual(published.status, { componentState: 'DEPLOYABLE', message: 'NONE', errors: {} });

      const listed = JSON.parse(await sh(COMMANDS.list));
      assert.deepEqual(
        listed.components.map((c: any) => [c.componentName, c.latestVersion.componentVersion, c.latestVersion.description, c.latestVersion.publisher]),
        [['com.example.HelloWorld', '1.0.0', 'Says hello.', 'Me']],
      );

      // The stored recipe, as YAML: the publisher's recipe plus the digest of the uploaded script.
      const recipe = YAML.parse(await sh(COMMANDS.getYaml));
      assert.deepEqual(recipe.Manifests[0].Artifacts, [
        { Uri: 's3://hello-artifacts/hello-world/1.0.0/hello.sh', Digest: sha256Base64(script), Algorithm: 'SHA-256' },
      ]);
      assert.deepEqual({ ...recipe, Manifests: undefined }, { ...YAML.parse(RECIPE_YAML), Manifests: undefined });

      const group = JSON.parse(await sh(COMMANDS.group));
      assert.equal(group.thingGroupArn, 'arn:aws:iot:us-east-1:123456789012:thinggroup/HelloFleet');
      const created = JSON.parse(await sh(COMMANDS.deploy));
      assert.match(created.deploymentId, /^[0-9a-f-]{36}$/);
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: created.deploymentId }));
      assert.equal(got.targetArn, group.thingGroupArn);
      assert.equal(got.deploymentStatus, 'ACTIVE');
      assert.deepEqual(got.components, { 'com.example.HelloWorld': { componentVersion: '1.0.0' } });
    });
  });
}
