// The device "Configuration" document (src/core/device-document): pure functions, so no server here.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { MeadowError } from '../src/core/errors.js';
import {
  buildConfiguration,
  carriedBytes,
  channelOf,
  DEPLOYMENT_SHADOW_NAME,
  errorCodeList,
  fromJobStatusDetails,
  GROUP_DOCUMENT_INLINE_MAX_BYTES,
  JOB_DOCUMENT_MAX_BYTES,
  outcomeFromShadowReported,
  prepareDelivery,
  shadowDesiredState,
  THING_DOCUMENT_INLINE_MAX_BYTES,
  type DeliveryChannel,
  type DeploymentSource,
} from '../src/core/device-document/index.js';

const scope = { region: 'us-east-1', accountId: '123456789012' };
const GROUP = 'arn:aws:iot:us-east-1:123456789012:thinggroup/SampleGroup';
const PARENT = 'arn:aws:iot:us-east-1:123456789012:thinggroup/Fleet';
const THING = 'arn:aws:iot:us-east-1:123456789012:thing/MyCore';

/** A group deployment with one plain component; tests override what they look at. */
const deployment = (over: Partial<DeploymentSource> = {}): DeploymentSource => ({
  deploymentId: '3b86691d-4f81-408a-852e-edc14cd351a7',
  targetArn: GROUP,
  revision: 2,
  createdAt: 1604067741583,
  components: { 'com.example.App': { componentVersion: '1.0.0' } },
  ...over,
});

/** Runs fn, which must throw a MeadowError of `kind`, and returns it. */
function meadowError(kind: MeadowError['kind'], fn: () => unknown): MeadowError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MeadowError, `expected a MeadowError, got ${e}`);
    assert.equal(e.kind, kind, e.message);
    return e;
  }
  assert.fail(`expected a ${kind} MeadowError, but nothing was thrown`);
}

describe('device Configuration document (§8.2)', () => {
  it('matches the §8.2 example field by field, with the nucleus field names', () => {
    const doc = buildConfiguration(
      deployment({
        deploymentName: 'Sample deployment',
        components: {
          CustomerApp: {
            componentVersion: '1.0.0',
            runWith: { posixUser: 'foo', windowsUser: 'bar', systemResourceLimits: { memory: 1024000, cpus: 1.5 } },
            configurationUpdate: { merge: '{"key":"val"}', reset: ['/sampleText', '/path'] },
          },
        },
        deploymentPolicies: {
          failureHandlingPolicy: 'ROLLBACK',
          componentUpdatePolicy: { timeoutInSeconds: 60, action: 'NOTIFY_COMPONENTS' },
          configurationValidationPolicy: { timeoutInSeconds: 60 },
        },
      }),
      scope,
    );
    assert.deepEqual(doc, {
      deploymentId: '3b86691d-4f81-408a-852e-edc14cd351a7',
      schemaDate: '2021-05-17',
      deploymentName: 'Sample deployment',
      configurationArn: 'arn:aws:greengrass:us-east-1:123456789012:configuration:thinggroup/SampleGroup:2',
      creationTimestamp: 1604067741583,
      requiredCapabilities: ['LINUX_RESOURCE_LIMITS'],
      components: {
        CustomerApp: {
          version: '1.0.0',
          runWith: { posixUser: 'foo', windowsUser: 'bar', systemResourceLimits: { memory: 1024000, cpus: 1.5 } },
          configurationUpdate: { merge: { key: 'val' }, reset: ['/sampleText', '/path'] },
        },
      },
      failureHandlingPolicy: 'ROLLBACK',
      componentUpdatePolicy: { timeout: 60, action: 'NOTIFY_COMPONENTS' },
      configurationValidationPolicy: { timeout: 60 },
    });
    // The order of §8.2, and nothing the nucleus would not recognise (it matches names case-sensitively).
    assert.deepEqual(Object.keys(doc), [
      'deploymentId',
      'schemaDate',
      'deploymentName',
      'configurationArn',
      'creationTimestamp',
      'requiredCapabilities',
      'components',
      'failureHandlingPolicy',
      'componentUpdatePolicy',
      'configurationValidationPolicy',
    ]);
    const json = JSON.stringify(doc);
    for (const apiName of ['componentVersion', 'timeoutInSeconds', 'deploymentPolicies', 'targetArn', 'revisionId']) {
      assert.ok(!json.includes(apiName), `the document must not use the API name ${apiName}: ${json}`);
    }
    // Epoch milliseconds as an integer, not the API's fractional seconds.
    assert.ok(json.includes('"creationTimestamp":1604067741583,'), json);
  });

  it('writes every policy with its default when the deployment gives none (timeouts 60, ROLLBACK, NOTIFY_COMPONENTS)', () => {
    const doc = buildConfiguration(deployment(), scope);
    assert.equal(doc.failureHandlingPolicy, 'ROLLBACK');
    assert.deepEqual(doc.componentUpdatePolicy, { timeout: 60, action: 'NOTIFY_COMPONENTS' });
    assert.deepEqual(doc.configurationValidationPolicy, { timeout: 60 });
    // Optional fields are left out, not written as null or undefined.
    for (const absent of ['deploymentName', 'onBehalfOf', 'parentTargetArn', 'requiredCapabilities']) {
      assert.ok(!Object.hasOwn(doc, absent), `${absent} should be absent`);
    }
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  });

  it('fills in only the policy members that are missing', () => {
    const doc = buildConfiguration(
      deployment({
        deploymentPolicies: {
          failureHandlingPolicy: 'DO_NOTHING',
          componentUpdatePolicy: { action: 'SKIP_NOTIFY_COMPONENTS' },
          configurationValidationPolicy: { timeoutInSeconds: 5 },
        },
      }),
      scope,
    );
    assert.equal(doc.failureHandlingPolicy, 'DO_NOTHING');
    assert.deepEqual(doc.componentUpdatePolicy, { timeout: 60, action: 'SKIP_NOTIFY_COMPONENTS' });
    assert.deepEqual(doc.configurationValidationPolicy, { timeout: 5 });

    const timeoutOnly = buildConfiguration(deployment({ deploymentPolicies: { componentUpdatePolicy: { timeoutInSeconds: 0 } } }), scope);
    assert.deepEqual(timeoutOnly.componentUpdatePolicy, { timeout: 0, action: 'NOTIFY_COMPONENTS' });
  });

  it('names the revision of a thing group target and of a thing target in configurationArn', () => {
    assert.equal(
      buildConfiguration(deployment({ revision: 7 }), scope).configurationArn,
      'arn:aws:greengrass:us-east-1:123456789012:configuration:thinggroup/SampleGroup:7',
    );
    assert.equal(
      buildConfiguration(deployment({ targetArn: THING, revision: 1 }), { region: 'eu-west-1', accountId: '210987654321' })
        .configurationArn,
      'arn:aws:greengrass:eu-west-1:210987654321:configuration:thing/MyCore:1',
    );
  });

  it('sends merge as a JSON object (parsed from the API string) and reset as a list', () => {
    const doc = buildConfiguration(
      deployment({
        components: {
          A: { componentVersion: '1.0.0', configurationUpdate: { merge: '{"port":8080,"nested":{"list":[1,"two",null]},"flag":false}' } },
          B: { componentVersion: '2.0.0', configurationUpdate: { reset: [''] } },
          C: { componentVersion: '3.0.0' },
        },
      }),
      scope,
    );
    assert.deepEqual(doc.components.A.configurationUpdate, {
      merge: { port: 8080, nested: { list: [1, 'two', null] }, flag: false },
      reset: [],
    });
    // A reset without merge still gets an (empty, so harmless) merge object; no update at all gets no member.
    assert.deepEqual(doc.components.B.configurationUpdate, { merge: {}, reset: [''] });
    assert.ok(!Object.hasOwn(doc.components.C, 'configurationUpdate'));
    const json = JSON.stringify(doc);
    assert.ok(json.includes('"merge":{"port":8080,'), json);
    assert.ok(!json.includes('"merge":"'), `merge must not be a string: ${json}`);
  });

  it('takes a merge that is already an object without sharing it', () => {
    const merge = { key: { inner: 'val' } };
    const d = deployment({ components: { A: { componentVersion: '1.0.0', configurationUpdate: { merge } } } });
    const doc = buildConfiguration(d, scope);
    assert.deepEqual(doc.components.A.configurationUpdate?.merge, { key: { inner: 'val' } });
    merge.key.inner = 'changed';
    assert.deepEqual(doc.components.A.configurationUpdate?.merge, { key: { inner: 'val' } });
  });

  it('copies runWith as given, member by member, and leaves it out when the deployment has none', () => {
    const doc = buildConfiguration(
      deployment({
        components: {
          User: { componentVersion: '1.0.0', runWith: { posixUser: 'ggc_user:ggc_group' } },
          Win: { componentVersion: '1.0.0', runWith: { windowsUser: 'ggc_user' } },
          Mem: { componentVersion: '1.0.0', runWith: { systemResourceLimits: { memory: 65536 } } },
          Plain: { componentVersion: '1.0.0' },
        },
      }),
      scope,
    );
    assert.deepEqual(doc.components.User, { version: '1.0.0', runWith: { posixUser: 'ggc_user:ggc_group' } });
    assert.deepEqual(doc.components.Win, { version: '1.0.0', runWith: { windowsUser: 'ggc_user' } });
    assert.deepEqual(doc.components.Mem, { version: '1.0.0', runWith: { systemResourceLimits: { memory: 65536 } } });
    assert.deepEqual(doc.components.Plain, { version: '1.0.0' });
  });

  it('asks for LINUX_RESOURCE_LIMITS and SUB_DEPLOYMENTS only when the deployment needs them', () => {
    const caps = (over: Partial<DeploymentSource>) => buildConfiguration(deployment(over), scope).requiredCapabilities;
    assert.equal(caps({}), undefined);
    assert.equal(caps({ components: { A: { componentVersion: '1.0.0', runWith: { posixUser: 'u' } } } }), undefined);
    assert.deepEqual(caps({ components: { A: { componentVersion: '1.0.0', runWith: { systemResourceLimits: { cpus: 0.5 } } } } }), [
      'LINUX_RESOURCE_LIMITS',
    ]);
    // Present counts, even without a limit in it.
    assert.deepEqual(caps({ components: { A: { componentVersion: '1.0.0', runWith: { systemResourceLimits: {} } } } }), [
      'LINUX_RESOURCE_LIMITS',
    ]);
    assert.deepEqual(caps({ parentTargetArn: PARENT }), ['SUB_DEPLOYMENTS']);
    assert.deepEqual(
      caps({
        parentTargetArn: PARENT,
        components: {
          A: { componentVersion: '1.0.0' },
          B: { componentVersion: '1.0.0', runWith: { systemResourceLimits: { memory: 1 } } },
          C: { componentVersion: '1.0.0', runWith: { systemResourceLimits: { memory: 2 } } },
        },
      }),
      ['LINUX_RESOURCE_LIMITS', 'SUB_DEPLOYMENTS'],
    );
  });

  it('marks a subdeployment with onBehalfOf and parentTargetArn, both the parent group ARN', () => {
    const doc = buildConfiguration(deployment({ parentTargetArn: PARENT }), scope);
    assert.equal(doc.onBehalfOf, PARENT);
    assert.equal(doc.parentTargetArn, PARENT);
    assert.equal(doc.configurationArn, 'arn:aws:greengrass:us-east-1:123456789012:configuration:thinggroup/SampleGroup:2');
  });

  it('refuses stored deployments that CreateDeployment could not have accepted, as meadow faults', () => {
    const notJson = meadowError('Internal', () =>
      buildConfiguration(deployment({ components: { A: { componentVersion: '1.0.0', configurationUpdate: { merge: '{oops' } } } }), scope),
    );
    assert.match(
      notJson.message,
      /deployment 3b86691d-4f81-408a-852e-edc14cd351a7: the configurationUpdate\.merge of component A is not JSON/,
    );
    const notObject = meadowError('Internal', () =>
      buildConfiguration(deployment({ components: { A: { componentVersion: '1.0.0', configurationUpdate: { merge: '[1]' } } } }), scope),
    );
    assert.match(notObject.message, /merge of component A is not a JSON object/);
    assert.match(
      meadowError('Internal', () => buildConfiguration(deployment({ components: { A: {} } }), scope)).message,
      /component A has no componentVersion/,
    );
    assert.match(meadowError('Internal', () => buildConfiguration(deployment({ targetArn: 'nope' }), scope)).message, /targetArn "nope"/);
  });
});

/** A deployment to `targetArn` whose complete document takes exactly `bytes` in its carrier, padded in a merge value. */
function deploymentOfSize(targetArn: string, bytes: number, extra: Record<string, unknown> = {}): DeploymentSource {
  const channel = channelOf(targetArn);
  const withPad = (pad: string) =>
    deployment({
      targetArn,
      components: {
        Big: {
          componentVersion: '1.0.0',
          configurationUpdate: { merge: JSON.stringify({ pad }) },
          runWith: { systemResourceLimits: { memory: 1024 } },
        },
        Small: { componentVersion: '2.1.0', runWith: { posixUser: 'ggc_user' } },
        ...extra,
      },
    });
  const sizeWith = (pad: string) => carriedBytes(channel, JSON.stringify(buildConfiguration(withPad(pad), scope)));
  const padding = bytes - sizeWith('');
  assert.ok(padding >= 0, `cannot pad down to ${bytes} bytes`);
  const d = withPad('x'.repeat(padding));
  assert.equal(sizeWith('x'.repeat(padding)), bytes);
  return d;
}

const sha256 = (text: string) => createHash('sha256').update(Buffer.from(text, 'utf8')).digest('base64');

describe('delivery and size limits (§1.4, §8.1)', () => {
  it('sends a small group document whole over a job, and serves that same document in full', () => {
    const d = deploymentOfSize(GROUP, 5000);
    const out = prepareDelivery(d, scope);
    assert.equal(out.channel, 'job');
    assert.equal(out.truncated, false);
    assert.deepEqual(out.document, buildConfiguration(d, scope));
    assert.equal(out.documentJson, JSON.stringify(out.document));
    assert.equal(out.full.json, out.documentJson);
    assert.deepEqual(out.full.integrityCheck, { algorithm: 'SHA-256', digest: sha256(out.full.json) });
  });

  for (const [label, target, limit] of [
    ['group (job, 31 KB)', GROUP, GROUP_DOCUMENT_INLINE_MAX_BYTES],
    ['thing (shadow, 7 KB)', THING, THING_DOCUMENT_INLINE_MAX_BYTES],
  ] as const) {
    it(`${label}: a document of exactly ${limit} bytes goes out whole`, () => {
      const d = deploymentOfSize(target, limit);
      const out = prepareDelivery(d, scope);
      assert.equal(out.truncated, false);
      assert.equal(carriedBytes(out.channel, out.documentJson), limit);
      assert.deepEqual(out.document, buildConfiguration(d, scope));
      assert.deepEqual(out.document.requiredCapabilities, ['LINUX_RESOURCE_LIMITS']);
    });

    it(`${label}: one byte more and it goes out as LARGE_CONFIGURATION with every component's name and version`, () => {
      const d = deploymentOfSize(target, limit + 1);
      const complete = buildConfiguration(d, scope);
      const out = prepareDelivery(d, scope);
      assert.equal(out.truncated, true);
      // Capabilities the content needs stay: the device checks them before it downloads anything.
      assert.deepEqual(out.document.requiredCapabilities, ['LARGE_CONFIGURATION', 'LINUX_RESOURCE_LIMITS']);
      assert.deepEqual(out.document.components, { Big: { version: '1.0.0' }, Small: { version: '2.1.0' } });
      assert.equal(out.documentJson, JSON.stringify(out.document));
      assert.ok(carriedBytes(out.channel, out.documentJson) < 1000);

      // The full document keeps configuration updates and runWith, and differs from the sent one only in components.
      assert.deepEqual(out.full.document.components, complete.components);
      assert.deepEqual({ ...out.full.document, components: null }, { ...out.document, components: null });
      assert.deepEqual(JSON.parse(out.full.json), out.full.document);
      assert.equal(Buffer.byteLength(out.full.json), Buffer.byteLength(JSON.stringify(complete)) + '"LARGE_CONFIGURATION",'.length);
      assert.deepEqual(out.full.integrityCheck, { algorithm: 'SHA-256', digest: sha256(out.full.json) });
    });
  }

  it('measures a thing document as the escaped string the shadow holds, so quotes count twice', () => {
    // 2000 quote characters: 4000 bytes in the document, 8000 once the document is itself a JSON string.
    const d = deployment({
      targetArn: THING,
      components: { A: { componentVersion: '1.0.0', configurationUpdate: { merge: JSON.stringify({ q: '"'.repeat(2000) }) } } },
    });
    const json = JSON.stringify(buildConfiguration(d, scope));
    assert.ok(Buffer.byteLength(json) < THING_DOCUMENT_INLINE_MAX_BYTES, `raw document is ${Buffer.byteLength(json)} bytes`);
    assert.ok(carriedBytes('shadow', json) > THING_DOCUMENT_INLINE_MAX_BYTES);
    assert.equal(prepareDelivery(d, scope).truncated, true);
    // The same document to a group is far below the job threshold.
    assert.equal(prepareDelivery({ ...d, targetArn: GROUP }, scope).truncated, false);
  });

  it('counts bytes, not characters', () => {
    const channel: DeliveryChannel = 'job';
    assert.equal(carriedBytes(channel, '{"a":"é"}'), 10);
    // "{\"a\":\"é\"}": 15 characters, é taking two bytes.
    assert.equal(carriedBytes('shadow', '{"a":"é"}'), 16);
  });

  it('keeps the sub-deployment fields and capability in the truncated form', () => {
    const d = { ...deploymentOfSize(GROUP, GROUP_DOCUMENT_INLINE_MAX_BYTES + 500), parentTargetArn: PARENT };
    const out = prepareDelivery(d, scope);
    assert.equal(out.truncated, true);
    assert.deepEqual(out.document.requiredCapabilities, ['LARGE_CONFIGURATION', 'LINUX_RESOURCE_LIMITS', 'SUB_DEPLOYMENTS']);
    assert.equal(out.document.onBehalfOf, PARENT);
    assert.equal(out.document.parentTargetArn, PARENT);
  });

  it('rejects, on components, a group deployment whose names and versions alone overflow a job document', () => {
    const named = (n: number, spec: Record<string, unknown>) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`com.example.generated.component.number.${String(i).padStart(4, '0')}`, spec]),
      );
    const e = meadowError('Invalid', () => prepareDelivery(deployment({ components: named(500, { componentVersion: '1.0.0' }) }), scope));
    assert.equal(e.details.fields?.[0].name, 'components');
    assert.match(e.message, /an IoT job document holds at most 32768 bytes/);
    // Fewer components whose configuration makes the document large still fit once their configuration is left out.
    const configured = named(300, {
      componentVersion: '1.0.0',
      configurationUpdate: { merge: JSON.stringify({ setting: 'y'.repeat(100) }) },
    });
    const out = prepareDelivery(deployment({ components: configured }), scope);
    assert.equal(out.truncated, true);
    assert.ok(Buffer.byteLength(JSON.stringify(out.full.document)) > JOB_DOCUMENT_MAX_BYTES);
    assert.ok(Buffer.byteLength(out.documentJson) <= JOB_DOCUMENT_MAX_BYTES);
    assert.equal(Object.keys(out.document.components).length, 300);
  });

  it('rejects a thing deployment whose names and versions alone overflow the shadow state', () => {
    const components = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`com.example.component.${i}`, { componentVersion: '1.0.0' }]),
    );
    const e = meadowError('Invalid', () => prepareDelivery(deployment({ targetArn: THING, components }), scope));
    assert.equal(e.details.fields?.[0].name, 'components');
    assert.match(e.message, /a shadow state holds at most 8192 bytes/);
  });

  it('rejects a deployment whose full document is more than a device downloads (10 MB)', () => {
    const merge = JSON.stringify({ blob: 'x'.repeat(10 * 1024 * 1024) });
    const e = meadowError('Invalid', () =>
      prepareDelivery(deployment({ components: { A: { componentVersion: '1.0.0', configurationUpdate: { merge } } } }), scope),
    );
    assert.equal(e.details.fields?.[0].name, 'components');
    assert.match(e.message, /devices accept at most 10485760 bytes/);
  });
});

describe('deployment shadow (§8.5)', () => {
  it('writes the document into desired.fleetConfig as a string, with desiredStatus', () => {
    const d = deployment({
      targetArn: THING,
      components: { A: { componentVersion: '1.0.0', configurationUpdate: { merge: '{"k":"v"}' } } },
    });
    const out = prepareDelivery(d, scope);
    assert.equal(out.channel, 'shadow');
    assert.equal(DEPLOYMENT_SHADOW_NAME, 'AWSManagedGreengrassV2Deployment');
    const desired = shadowDesiredState(out.documentJson);
    assert.deepEqual(Object.keys(desired), ['fleetConfig', 'desiredStatus']);
    assert.equal(typeof desired.fleetConfig, 'string');
    assert.deepEqual(JSON.parse(desired.fleetConfig), out.document);
    assert.equal(desired.desiredStatus, 'ACTIVE');
    assert.equal(shadowDesiredState(out.documentJson, 'CANCELED').desiredStatus, 'CANCELED');
    // In the serialized shadow the document is one escaped string, not a nested object.
    assert.ok(JSON.stringify({ state: { desired } }).includes('"fleetConfig":"{\\"deploymentId\\":'));
  });

  it('reads a thing success as COMPLETED with reason SUCCESSFUL and empty error lists', () => {
    const arn = 'arn:aws:greengrass:us-east-1:123456789012:configuration:thing/MyCore:3';
    assert.deepEqual(
      outcomeFromShadowReported({
        fleetConfigurationArnForStatus: arn,
        status: 'SUCCEEDED',
        statusDetails: { detailedStatus: 'SUCCESSFUL', failureCause: '', errorStack: [], errorTypes: [] },
        ggcVersion: '2.12.0',
      }),
      {
        configurationArn: arn,
        coreDeviceExecutionStatus: 'COMPLETED',
        reason: 'SUCCESSFUL',
        statusDetails: { errorStack: [], errorTypes: [] },
        ggcVersion: '2.12.0',
      },
    );
  });

  it('reads failures, rejections, cancellations and progress as they are', () => {
    const arn = 'arn:aws:greengrass:us-east-1:123456789012:configuration:thing/MyCore:4';
    const failed = outcomeFromShadowReported({
      fleetConfigurationArnForStatus: arn,
      status: 'FAILED',
      statusDetails: {
        detailedStatus: 'FAILED_ROLLBACK_COMPLETE',
        failureCause: 'Service com.example.App in broken state after deployment',
        errorStack: ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'],
        errorTypes: ['USER_COMPONENT_ERROR'],
      },
    });
    assert.deepEqual(failed, {
      configurationArn: arn,
      coreDeviceExecutionStatus: 'FAILED',
      reason: 'FAILED_ROLLBACK_COMPLETE',
      failureCause: 'Service com.example.App in broken state after deployment',
      statusDetails: {
        errorStack: ['DEPLOYMENT_FAILURE', 'COMPONENT_UPDATE_ERROR', 'COMPONENT_BROKEN'],
        errorTypes: ['USER_COMPONENT_ERROR'],
      },
    });
    for (const status of ['REJECTED', 'CANCELED', 'IN_PROGRESS'] as const) {
      assert.equal(outcomeFromShadowReported({ fleetConfigurationArnForStatus: arn, status })?.coreDeviceExecutionStatus, status);
    }
  });

  it('ignores reported states that say nothing usable, and tolerates malformed details', () => {
    const arn = 'arn:aws:greengrass:us-east-1:123456789012:configuration:thing/MyCore:4';
    for (const bad of [undefined, null, 'SUCCEEDED', 42, [], {}, { status: 'SUCCEEDED' }, { fleetConfigurationArnForStatus: arn }]) {
      assert.equal(outcomeFromShadowReported(bad), undefined, JSON.stringify(bad));
    }
    for (const status of ['DONE', 'succeeded', 'COMPLETED', 'toString', '__proto__', 7]) {
      assert.equal(outcomeFromShadowReported({ fleetConfigurationArnForStatus: arn, status }), undefined, String(status));
    }
    assert.equal(outcomeFromShadowReported({ fleetConfigurationArnForStatus: 12, status: 'FAILED' }), undefined);

    const messy = outcomeFromShadowReported({
      fleetConfigurationArnForStatus: arn,
      status: 'FAILED',
      statusDetails: {
        detailedStatus: 9,
        failureCause: { no: 1 },
        errorStack: 'not a list',
        errorTypes: ['PERMISSION_ERROR', 3, null, ''],
      },
      ggcVersion: 2,
    });
    assert.deepEqual(messy, {
      configurationArn: arn,
      coreDeviceExecutionStatus: 'FAILED',
      statusDetails: { errorStack: [], errorTypes: ['PERMISSION_ERROR'] },
    });
    assert.deepEqual(
      outcomeFromShadowReported({ fleetConfigurationArnForStatus: arn, status: 'FAILED', statusDetails: 'oops' })?.statusDetails,
      {
        errorStack: [],
        errorTypes: [],
      },
    );
  });
});

describe('job execution statusDetails -> EffectiveDeployment (§2.2, Appendix B)', () => {
  it('parses the JSON-array strings the nucleus sends and keeps the detailed status as reason', () => {
    assert.deepEqual(
      fromJobStatusDetails({
        'detailed-deployment-status': 'FAILED_NO_STATE_CHANGE',
        'deployment-failure-cause': 'No local or cloud component version satisfies the requirements',
        'deployment-error-stack': '["DEPLOYMENT_FAILURE","NO_AVAILABLE_COMPONENT_VERSION","COMPONENT_VERSION_REQUIREMENTS_NOT_MET"]',
        'deployment-error-types': '["REQUEST_ERROR"]',
      }),
      {
        reason: 'FAILED_NO_STATE_CHANGE',
        failureCause: 'No local or cloud component version satisfies the requirements',
        statusDetails: {
          errorStack: ['DEPLOYMENT_FAILURE', 'NO_AVAILABLE_COMPONENT_VERSION', 'COMPONENT_VERSION_REQUIREMENTS_NOT_MET'],
          errorTypes: ['REQUEST_ERROR'],
        },
      },
    );
  });

  it('reads a success as reason SUCCESSFUL with empty lists', () => {
    assert.deepEqual(fromJobStatusDetails({ 'detailed-deployment-status': 'SUCCESSFUL' }), {
      reason: 'SUCCESSFUL',
      statusDetails: { errorStack: [], errorTypes: [] },
    });
  });

  it('yields empty lists for malformed values and never throws', () => {
    const cut = '["DEPLOYMENT_FAILURE","COMPONENT_BR'; // the nucleus cuts values at 1024 characters
    for (const bad of [cut, '', 'null', '{"a":["X"]}', '"DEPLOYMENT_FAILURE"', '42', 42, true, null, { a: 1 }]) {
      const out = fromJobStatusDetails({ 'deployment-error-stack': bad, 'deployment-error-types': bad });
      assert.deepEqual(out.statusDetails, { errorStack: [], errorTypes: [] }, JSON.stringify(bad));
    }
    for (const details of [undefined, null, 'SUCCESSFUL', 7, [], ['x'], {}]) {
      assert.deepEqual(fromJobStatusDetails(details), { statusDetails: { errorStack: [], errorTypes: [] } }, JSON.stringify(details));
    }
    assert.deepEqual(fromJobStatusDetails({ 'detailed-deployment-status': 5, 'deployment-failure-cause': '' }), {
      statusDetails: { errorStack: [], errorTypes: [] },
    });
  });

  it('keeps only non-empty string codes, cut to the API maximum of 255 characters', () => {
    const long = 'E'.repeat(300);
    assert.deepEqual(errorCodeList(JSON.stringify(['DEPLOYMENT_FAILURE', 1, null, '', { x: 1 }, ['NESTED'], long])), [
      'DEPLOYMENT_FAILURE',
      'E'.repeat(255),
    ]);
    assert.deepEqual(errorCodeList(['A', 'B']), ['A', 'B']);
  });
});
