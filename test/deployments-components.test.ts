// CreateDeployment deploys only what a device could: component versions that exist and are DEPLOYABLE, meadow's
// own public components (not AWS's others), private components hiding public ones of the same name, and roots
// whose HARD dependencies resolve together (SOFT ones may stay unresolved). Every refusal writes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DeleteComponentCommand,
  GetDeploymentCommand,
  ResourceNotFoundException,
  ValidationException,
  type CreateDeploymentCommandInput,
} from '@aws-sdk/client-greengrassv2';
import { ManualClock } from '../src/core/clock.js';
import { NUCLEUS_VERSIONS } from '../src/core/public-components.js';
import { STORE_KINDS } from './helpers/databases.js';
import {
  ACCOUNT,
  REGION,
  allDeploymentIds,
  deploy,
  fieldViolation,
  newThingGroup,
  publishComponent,
  publishComponents,
  rejectsWith,
  uniqueName,
} from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const NUCLEUS = 'aws.greengrass.Nucleus';
const versionArn = (name: string, version: string) => `arn:aws:greengrass:${REGION}:${ACCOUNT}:components:${name}:versions:${version}`;
const pin = (...refs: [string, string][]) => Object.fromEntries(refs.map(([name, componentVersion]) => [name, { componentVersion }]));
/** A component name no other test on the server uses. */
const component = (what: string) => uniqueName(`com.example.${what}`);

for (const kind of STORE_KINDS) {
  describe(`CreateDeployment of published components (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
    });
    after(() => s.close());

    /** A create to a new thing group that must fail with `cls` and write no deployment at all. */
    async function createFails<E extends Error>(
      components: CreateDeploymentCommandInput['components'],
      cls: abstract new (...a: any[]) => E,
    ): Promise<E> {
      const targetArn = await newThingGroup(s);
      const before = await allDeploymentIds(s);
      const err = await rejectsWith(deploy(s, { targetArn, components }), cls);
      assert.deepEqual(await allDeploymentIds(s), before, 'a refused CreateDeployment left a deployment behind');
      return err;
    }

    /** A create to a new thing group that must succeed and keep the components as sent. */
    async function createSucceeds(components: CreateDeploymentCommandInput['components']): Promise<void> {
      const out = await deploy(s, { targetArn: await newThingGroup(s), components });
      const got = await s.gg.send(new GetDeploymentCommand({ deploymentId: out.deploymentId }));
      assert.equal(got.deploymentStatus, 'ACTIVE');
      assert.deepEqual(got.components, components);
    }

    it('deploys a published version', async () => {
      const name = component('Hello');
      await publishComponents(s, [`${name}@1.0.0`]);
      await createSucceeds(pin([name, '1.0.0']));
    });

    it('a version that was never published is ResourceNotFoundException naming it and listing the versions there are', async () => {
      const name = component('Versions');
      await publishComponents(s, [`${name}@1.0.0`, `${name}@1.2.0`, `${name}@2.0.0-beta.1`]);
      const err = await createFails(pin([name, '1.1.0']), ResourceNotFoundException);
      assert.equal(err.$metadata.httpStatusCode, 404);
      assert.equal(err.resourceType, 'componentVersion');
      assert.equal(err.resourceId, versionArn(name, '1.1.0'));
      assert.ok(err.message.includes(`${name} version 1.1.0 does not exist`), err.message);
      assert.ok(err.message.includes('versions available: 2.0.0-beta.1, 1.2.0, 1.0.0'), err.message);
    });

    it('a component that was never published is ResourceNotFoundException naming component and version', async () => {
      const name = component('Nothing');
      const err = await createFails(pin([name, '1.0.0']), ResourceNotFoundException);
      assert.equal(err.resourceId, versionArn(name, '1.0.0'));
      assert.ok(err.message.includes(`${name} version 1.0.0 does not exist`), err.message);
      assert.doesNotMatch(err.message, /versions available/);
    });

    it('a componentVersion that is not a semantic version is refused by validation before any lookup', async () => {
      const name = component('Nothing');
      for (const version of ['one', 'x']) {
        const err = await createFails(pin([name, version]), ValidationException);
        assert.match(fieldViolation(err, `components[${name}].componentVersion`).message!, /semantic version/);
      }
    });

    it('a FAILED version (an artifact that cannot be read) is ValidationException naming components[NAME].componentVersion', async () => {
      const name = component('Broken');
      const uri = 's3://no-such-bucket/x.zip';
      const published = await publishComponent(s, name, '1.0.0', { artifacts: [uri] });
      assert.equal(published.status?.componentState, 'FAILED');
      assert.deepEqual(Object.keys(published.status?.errors ?? {}), [uri]);
      assert.match(published.status!.errors![uri], /no-such-bucket/);

      const err = await createFails(pin([name, '1.0.0']), ValidationException);
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.equal(err.fields?.length, 1, JSON.stringify(err.fields));
      const field = fieldViolation(err, `components[${name}].componentVersion`);
      assert.match(field.message!, /FAILED, not DEPLOYABLE/);
      // The caller learns why the version failed, not just that it did.
      assert.ok(field.message!.includes(uri), field.message);
    });

    it('pins a public nucleus version meadow ships', async () => {
      assert.ok(NUCLEUS_VERSIONS.includes('2.16.1'));
      await createSucceeds(pin([NUCLEUS, '2.16.1']));
      const name = component('WithNucleus');
      await publishComponents(s, [`${name}@1.0.0`]);
      await createSucceeds(pin([NUCLEUS, '2.16.1'], [name, '1.0.0']));
    });

    it('resolves HARD dependencies on the public nucleus against the versions meadow ships', async () => {
      const [fits, tooNew] = [component('NeedsNucleus2'), component('NeedsNucleus3')];
      await publishComponent(s, fits, '1.0.0', { dependencies: { [NUCLEUS]: { VersionRequirement: '>=2.12.0 <3.0.0', DependencyType: 'HARD' } } });
      await publishComponent(s, tooNew, '1.0.0', { dependencies: { [NUCLEUS]: { VersionRequirement: '>=3.0.0', DependencyType: 'HARD' } } });
      await createSucceeds(pin([fits, '1.0.0']));
      await createSucceeds(pin([fits, '1.0.0'], [NUCLEUS, '2.12.0']));
      const err = await createFails(pin([tooNew, '1.0.0']), ValidationException);
      const field = fieldViolation(err, 'components', { validatorWording: false });
      assert.ok(field.message!.includes(`Component ${NUCLEUS} version constraints: ${tooNew} requires >=3.0.0`), field.message);
    });

    it('a nucleus version meadow does not ship is ResourceNotFoundException listing the ones it does', async () => {
      const err = await createFails(pin([NUCLEUS, '2.0.0']), ResourceNotFoundException);
      assert.equal(err.resourceId, versionArn(NUCLEUS, '2.0.0'));
      assert.ok(err.message.includes(`${NUCLEUS} version 2.0.0 does not exist`), err.message);
      // The ten highest, highest first.
      const highest = [...NUCLEUS_VERSIONS].reverse().slice(0, 10).join(', ');
      assert.ok(err.message.includes(`versions available: ${highest}`), err.message);
    });

    it('an AWS public component meadow does not ship is ValidationException saying so', async () => {
      const err = await createFails(pin(['aws.greengrass.Cli', '2.16.1']), ValidationException);
      assert.equal(err.$metadata.httpStatusCode, 400);
      const field = fieldViolation(err, 'components[aws.greengrass.Cli]');
      assert.match(field.message!, /AWS-provided public component that meadow does not ship/);
      assert.ok(field.message!.includes(NUCLEUS), `the message should say what meadow ships: ${field.message}`);
    });

    it('HARD dependencies that no one version satisfies are ValidationException naming components and both requirements', async () => {
      const [a, b, c] = [component('A'), component('B'), component('C')];
      await publishComponents(s, [`${c}@1.0.0`, `${c}@2.0.0`]);
      await publishComponent(s, a, '1.0.0', { dependencies: { [c]: { VersionRequirement: '=1.0.0', DependencyType: 'HARD' } } });
      await publishComponent(s, b, '1.0.0', { dependencies: { [c]: { VersionRequirement: '>=2.0.0' } } }); // HARD by default
      // Each root is deployable on its own: it is the pair that cannot be.
      await createSucceeds(pin([a, '1.0.0']));
      await createSucceeds(pin([b, '1.0.0']));

      const err = await createFails(pin([a, '1.0.0'], [b, '1.0.0']), ValidationException);
      const field = fieldViolation(err, 'components', { validatorWording: false });
      for (const text of [field.message!, err.message]) {
        assert.ok(text.includes(`Component ${c} version constraints:`), text);
        assert.ok(text.includes(`${a} requires =1.0.0`), text);
        assert.ok(text.includes(`${b} requires >=2.0.0`), text);
      }
    });

    it('a HARD dependency that is satisfied resolves to the version the requirements allow', async () => {
      const [app, lib] = [component('App'), component('Lib')];
      await publishComponents(s, [`${lib}@1.0.0`, `${lib}@1.5.0`]);
      await publishComponent(s, app, '1.0.0', { dependencies: { [lib]: { VersionRequirement: '^1.2.0', DependencyType: 'HARD' } } });
      await createSucceeds(pin([app, '1.0.0']));
      // A root that pins the dependency outside the range conflicts with it.
      const err = await createFails(pin([app, '1.0.0'], [lib, '1.0.0']), ValidationException);
      assert.match(fieldViolation(err, 'components', { validatorWording: false }).message!, new RegExp(`${app} requires \\^1\\.2\\.0`));
    });

    it('a HARD dependency on a component that does not exist blocks the deployment', async () => {
      const [app, missing] = [component('App'), component('Missing')];
      await publishComponent(s, app, '1.0.0', { dependencies: { [missing]: { VersionRequirement: '^1.0.0', DependencyType: 'HARD' } } });
      const err = await createFails(pin([app, '1.0.0']), ValidationException);
      const field = fieldViolation(err, 'components', { validatorWording: false });
      assert.ok(field.message!.includes(`Component ${missing} does not exist`), field.message);
      assert.ok(field.message!.includes(`${app} requires ^1.0.0`), field.message);
    });

    it('a HARD dependency whose only matching version is FAILED blocks the deployment', async () => {
      const [app, lib] = [component('App'), component('Lib')];
      await publishComponent(s, lib, '1.0.0', { artifacts: ['s3://no-such-bucket/lib.zip'] });
      await publishComponent(s, app, '1.0.0', { dependencies: { [lib]: { VersionRequirement: '^1.0.0', DependencyType: 'HARD' } } });
      const err = await createFails(pin([app, '1.0.0']), ValidationException);
      const field = fieldViolation(err, 'components', { validatorWording: false });
      assert.ok(field.message!.includes(`Component ${lib} has no usable version`), field.message);
    });

    it('HARD dependencies in a loop block the deployment', async () => {
      const [x, y] = [component('X'), component('Y')];
      await publishComponent(s, x, '1.0.0', { dependencies: { [y]: { VersionRequirement: '1.0.0', DependencyType: 'HARD' } } });
      await publishComponent(s, y, '1.0.0', { dependencies: { [x]: { VersionRequirement: '1.0.0', DependencyType: 'HARD' } } });
      const err = await createFails(pin([x, '1.0.0']), ValidationException);
      assert.match(fieldViolation(err, 'components', { validatorWording: false }).message!, /Circular dependency/);
    });

    it('SOFT dependencies that cannot be resolved do not block the deployment', async () => {
      const [app, missing, lib] = [component('App'), component('Missing'), component('Lib')];
      await publishComponents(s, [`${lib}@1.0.0`]);
      await publishComponent(s, app, '1.0.0', {
        dependencies: {
          [missing]: { VersionRequirement: '^1.0.0', DependencyType: 'SOFT' }, // no such component
          [lib]: { VersionRequirement: '>=5.0.0', DependencyType: 'SOFT' }, // no such version
        },
      });
      await createSucceeds(pin([app, '1.0.0']));
    });

    it('a refusal does not take the clientToken: once the component is published the same request succeeds', async () => {
      const name = component('Later');
      const input = { targetArn: await newThingGroup(s), components: pin([name, '1.0.0']), clientToken: uniqueName('token') };
      await rejectsWith(deploy(s, input), ResourceNotFoundException);
      await publishComponents(s, [`${name}@1.0.0`]);
      const ok = await deploy(s, input);
      assert.equal((await deploy(s, input)).deploymentId, ok.deploymentId);
    });
  });

  describe(`a component version deleted and published again (${kind})`, () => {
    // A stopped clock: the version is published again at the very same instant, as a fast script could.
    const clock = new ManualClock(Date.UTC(2026, 4, 1));
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind, { clock });
    });
    after(() => s.close());

    it('is deployed with its new recipe', async () => {
      const [app, missing] = [component('App'), component('Missing')];
      const first = await publishComponent(s, app, '1.0.0', { dependencies: { [missing]: { VersionRequirement: '^1.0.0', DependencyType: 'HARD' } } });
      await rejectsWith(deploy(s, { targetArn: await newThingGroup(s), components: pin([app, '1.0.0']) }), ValidationException);
      await s.gg.send(new DeleteComponentCommand({ arn: first.arn }));
      await publishComponent(s, app, '1.0.0'); // no dependencies now
      const ok = await deploy(s, { targetArn: await newThingGroup(s), components: pin([app, '1.0.0']) });
      assert.ok(ok.deploymentId);
    });
  });

  describe(`a private component named like a public one (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
    });
    after(() => s.close());

    it('hides the public component: only the private versions can be deployed', async () => {
      await deploy(s, { targetArn: await newThingGroup(s), components: pin([NUCLEUS, '2.16.1']) }); // public, before
      const published = await publishComponent(s, NUCLEUS, '9.0.0');
      assert.equal(published.arn, versionArn(NUCLEUS, '9.0.0'));

      const ok = await deploy(s, { targetArn: await newThingGroup(s), components: pin([NUCLEUS, '9.0.0']) });
      assert.ok(ok.deploymentId);

      const targetArn = await newThingGroup(s);
      const before = await allDeploymentIds(s);
      const err = await rejectsWith(deploy(s, { targetArn, components: pin([NUCLEUS, '2.16.1']) }), ResourceNotFoundException);
      assert.equal(err.resourceId, versionArn(NUCLEUS, '2.16.1'));
      assert.ok(err.message.includes(`${NUCLEUS} version 2.16.1 does not exist`), err.message);
      assert.ok(err.message.includes('(versions available: 9.0.0)'), err.message);
      assert.deepEqual(await allDeploymentIds(s), before);
    });
  });
}
