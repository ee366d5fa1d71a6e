// CreateDeployment's semantic rules (src/core/deployment-request.ts) and the model constraints the service model
// carries only through model/patches.json: each bad value is a ValidationException (FIELD_VALIDATION_FAILED) whose
// `fields` names the member path, nothing is written, and the values at the edge of each rule are accepted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ValidationException, type CreateDeploymentCommandInput } from '@aws-sdk/client-greengrassv2';
import { STORE_KINDS } from './helpers/databases.js';
import { allDeploymentIds, deploy, fieldViolation, newThingGroup, publishComponents, rejectsWith } from './helpers/greengrass.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const C = 'com.example.Hello';
const ROLLOUT = 'iotJobConfiguration.jobExecutionsRolloutConfig.exponentialRate';

type Extra = Omit<CreateDeploymentCommandInput, 'targetArn'>;
type Spec = { configurationUpdate?: { merge?: string; reset?: string[] }; runWith?: { posixUser?: string } };

const component = (spec: Spec, componentVersion = '1.0.0'): Extra => ({ components: { [C]: { componentVersion, ...spec } } });
const exponentialRate = (rate: Record<string, unknown>): Extra => ({
  iotJobConfiguration: {
    jobExecutionsRolloutConfig: { exponentialRate: { baseRatePerMinute: 5, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 10 }, ...rate } },
  },
});
const threshold = (thresholdPercentage: number): Extra => ({
  iotJobConfiguration: { abortConfig: { criteriaList: [{ failureType: 'ALL', action: 'CANCEL', thresholdPercentage, minNumberOfExecutedThings: 1 }] } },
});
const timeout = (inProgressTimeoutInMinutes: number): Extra => ({ iotJobConfiguration: { timeoutConfig: { inProgressTimeoutInMinutes } } });

/** [what, request members, member path named, the rule's words in the violation] */
const INVALID: [string, Extra, string, RegExp][] = [
  ['merge that is not JSON', component({ configurationUpdate: { merge: '{"a":' } }), `components[${C}].configurationUpdate.merge`, /JSON object/],
  ['merge that is a JSON array', component({ configurationUpdate: { merge: '[1,2]' } }), `components[${C}].configurationUpdate.merge`, /JSON object/],
  ['merge that is a JSON string', component({ configurationUpdate: { merge: '"text"' } }), `components[${C}].configurationUpdate.merge`, /JSON object/],
  ['merge that is JSON null', component({ configurationUpdate: { merge: 'null' } }), `components[${C}].configurationUpdate.merge`, /JSON object/],
  ['merge that is a JSON number', component({ configurationUpdate: { merge: '42' } }), `components[${C}].configurationUpdate.merge`, /JSON object/],
  ['reset entry without a leading /', component({ configurationUpdate: { reset: ['/ok', 'no-slash'] } }), `components[${C}].configurationUpdate.reset[1]`, /JSON pointer/],
  ['reset entry with a bad ~ escape', component({ configurationUpdate: { reset: ['/a~2b'] } }), `components[${C}].configurationUpdate.reset[0]`, /JSON pointer/],
  ['reset entry ending in ~', component({ configurationUpdate: { reset: ['/a~'] } }), `components[${C}].configurationUpdate.reset[0]`, /JSON pointer/],
  ['componentVersion that is not semver', component({}, '1.0'), `components[${C}].componentVersion`, /semantic version/],
  ['componentVersion that is a word', component({}, 'latest'), `components[${C}].componentVersion`, /semantic version/],
  ['posixUser with two colons', component({ runWith: { posixUser: 'a:b:c' } }), `components[${C}].runWith.posixUser`, /'user' or 'user:group'/],
  ['posixUser with an empty group', component({ runWith: { posixUser: 'a:' } }), `components[${C}].runWith.posixUser`, /'user' or 'user:group'/],
  ['posixUser with a space', component({ runWith: { posixUser: 'a b' } }), `components[${C}].runWith.posixUser`, /'user' or 'user:group'/],
  [
    'negative componentUpdatePolicy timeout',
    { deploymentPolicies: { componentUpdatePolicy: { timeoutInSeconds: -1 } } },
    'deploymentPolicies.componentUpdatePolicy.timeoutInSeconds',
    /greater than or equal to 0/,
  ],
  [
    'negative configurationValidationPolicy timeout',
    { deploymentPolicies: { configurationValidationPolicy: { timeoutInSeconds: -5 } } },
    'deploymentPolicies.configurationValidationPolicy.timeoutInSeconds',
    /greater than or equal to 0/,
  ],
  [
    'rateIncreaseCriteria with both members',
    exponentialRate({ rateIncreaseCriteria: { numberOfNotifiedThings: 1, numberOfSucceededThings: 1 } }),
    `${ROLLOUT}.rateIncreaseCriteria`,
    /exactly one of numberOfNotifiedThings and numberOfSucceededThings/,
  ],
  ['rateIncreaseCriteria with neither member', exponentialRate({ rateIncreaseCriteria: {} }), `${ROLLOUT}.rateIncreaseCriteria`, /exactly one of/],
  ['incrementFactor 1.05', exponentialRate({ incrementFactor: 1.05 }), `${ROLLOUT}.incrementFactor`, /between 1.1 and 5/],
  ['incrementFactor 1.0', exponentialRate({ incrementFactor: 1 }), `${ROLLOUT}.incrementFactor`, /between 1.1 and 5/],
  ['incrementFactor 2.55', exponentialRate({ incrementFactor: 2.55 }), `${ROLLOUT}.incrementFactor`, /one digit after the decimal point/],
  ['incrementFactor 5.1', exponentialRate({ incrementFactor: 5.1 }), `${ROLLOUT}.incrementFactor`, /less than or equal to 5/],
  ['thresholdPercentage with 3 decimals', threshold(12.345), 'iotJobConfiguration.abortConfig.criteriaList[0].thresholdPercentage', /two digits after the decimal point/],
  ['thresholdPercentage 0', threshold(0), 'iotJobConfiguration.abortConfig.criteriaList[0].thresholdPercentage', /greater than 0/],
  ['thresholdPercentage above 100', threshold(100.5), 'iotJobConfiguration.abortConfig.criteriaList[0].thresholdPercentage', /less than or equal to 100/],
  ['inProgressTimeoutInMinutes 0', timeout(0), 'iotJobConfiguration.timeoutConfig.inProgressTimeoutInMinutes', /greater than or equal to 1/],
  ['inProgressTimeoutInMinutes 10081', timeout(10081), 'iotJobConfiguration.timeoutConfig.inProgressTimeoutInMinutes', /less than or equal to 10080/],
];

/** Values right at the edge of each rule, all accepted. */
const VALID: [string, Extra][] = [
  ['merge of an empty object', component({ configurationUpdate: { merge: '{}' } })],
  ['reset of everything and of escaped keys', component({ configurationUpdate: { reset: ['', '/', '/a~0b~1c', '/list/0'] } })],
  ['a pre-release semver', component({}, '1.0.0-rc.1+build.5')],
  ['posixUser alone and with a group', { components: { [C]: { componentVersion: '1.0.0', runWith: { posixUser: 'ggc_user' } }, other: { componentVersion: '1.0.0', runWith: { posixUser: '1001:1002' } } } }],
  ['timeouts of 0 seconds', { deploymentPolicies: { componentUpdatePolicy: { timeoutInSeconds: 0 }, configurationValidationPolicy: { timeoutInSeconds: 0 } } }],
  ['rateIncreaseCriteria of succeeded things', exponentialRate({ rateIncreaseCriteria: { numberOfSucceededThings: 3 } })],
  ['incrementFactor 1.1', exponentialRate({ incrementFactor: 1.1 })],
  ['incrementFactor 5', exponentialRate({ incrementFactor: 5 })],
  ['thresholdPercentage 0.01', threshold(0.01)],
  ['thresholdPercentage 12.34', threshold(12.34)],
  ['thresholdPercentage 100', threshold(100)],
  ['inProgressTimeoutInMinutes 1', timeout(1)],
  ['inProgressTimeoutInMinutes 10080', timeout(10080)],
];

for (const kind of STORE_KINDS) {
  describe(`CreateDeployment validation (${kind})`, () => {
    let s: TestServer;
    let group: string;
    before(async () => {
      s = await startTestServer(kind);
      group = await newThingGroup(s);
      // What the requests deploy exists, so each refusal below is for its one broken rule alone.
      await publishComponents(s, [`${C}@1.0.0`, `${C}@1.0.0-rc.1+build.5`, 'other@1.0.0']);
    });
    after(() => s.close());

    for (const [what, extra, path, rule] of INVALID) {
      it(`refuses ${what}, naming ${path}`, async () => {
        const before = await allDeploymentIds(s);
        const err = await rejectsWith(deploy(s, { targetArn: group, ...extra }), ValidationException);
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.equal(err.fields?.length, 1, JSON.stringify(err.fields));
        const field = fieldViolation(err, path);
        assert.match(field.message!, rule);
        assert.deepEqual(await allDeploymentIds(s), before);
      });
    }

    for (const [what, extra] of VALID) {
      it(`accepts ${what}`, async () => {
        const out = await deploy(s, { targetArn: group, ...extra });
        assert.ok(out.deploymentId);
      });
    }

    it('reports every semantic violation of one request at once', async () => {
      const err = await rejectsWith(
        deploy(s, {
          targetArn: group,
          components: {
            [C]: { componentVersion: 'x', configurationUpdate: { merge: 'nope', reset: ['bad'] }, runWith: { posixUser: 'a:b:c' } },
          },
          iotJobConfiguration: {
            jobExecutionsRolloutConfig: { exponentialRate: { baseRatePerMinute: 1, incrementFactor: 1.05, rateIncreaseCriteria: {} } },
          },
        }),
        ValidationException,
      );
      const paths = [
        `components[${C}].componentVersion`,
        `components[${C}].configurationUpdate.merge`,
        `components[${C}].configurationUpdate.reset[0]`,
        `components[${C}].runWith.posixUser`,
        `${ROLLOUT}.rateIncreaseCriteria`,
        `${ROLLOUT}.incrementFactor`,
      ];
      for (const path of paths) fieldViolation(err, path);
      assert.equal(err.fields?.length, paths.length, JSON.stringify(err.fields));
      assert.match(err.message, new RegExp(`^${paths.length} validation errors detected: `));
    });

    it('a missing componentVersion is ValidationException naming it', async () => {
      const err = await rejectsWith(deploy(s, { targetArn: group, components: { [C]: {} as never } }), ValidationException);
      const field = fieldViolation(err, `components[${C}].componentVersion`);
      assert.match(field.message!, /must not be null/);
    });
  });
}
