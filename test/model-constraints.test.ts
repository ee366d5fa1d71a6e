// Every constraint the service models put on the inputs of the operations meadow serves, checked on the wire.
// The cases are derived from the model, not written by hand: for each constrained member (required, string
// length, pattern, enum, numeric range, list/map size, at any depth, map keys included) one request breaks that
// constraint alone, starting from a valid base input, and must be refused with the service's validation error
// naming the member's path and the rule. Only the base inputs below are hand-written data.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as greengrassSdk from '@aws-sdk/client-greengrassv2';
import * as iotSdk from '@aws-sdk/client-iot';
import { greengrassHandlers } from '../src/api/greengrassv2/index.js';
import { iotHandlers } from '../src/api/iot/index.js';
import { ServiceModel, type Shape } from '../src/wire/service-model.js';
import { compilePattern } from '../src/wire/validate.js';
import { STORE_KINDS } from './helpers/databases.js';
import { startTestServer, type TestServer } from './helpers/server.js';

type Input = Record<string, unknown>;

const THING_GROUP_ARN = 'arn:aws:iot:us-east-1:123456789012:thinggroup/model-fleet';
const DEPLOYMENT_ARN = 'arn:aws:greengrass:us-east-1:123456789012:deployments:model-deployment-id';
const COMPONENT_ARN = 'arn:aws:greengrass:us-east-1:123456789012:components:com.example.Model';
const COMPONENT_VERSION_ARN = `${COMPONENT_ARN}:versions:1.0.0`;
const ATTRIBUTE_PAYLOAD = { attributes: { serial: 'SN-0001' }, merge: false };
const GROUP_PROPERTIES = { thingGroupDescription: 'Model fleet', attributePayload: ATTRIBUTE_PAYLOAD };

// A valid input per served operation, with every constrained member present so that each can be broken.
// The resources they name need not exist: validation comes before any lookup.
const BASE_INPUTS: Record<'greengrassv2' | 'iot', Record<string, Input>> = {
  greengrassv2: {
    CreateDeployment: {
      targetArn: THING_GROUP_ARN,
      deploymentName: 'model-deployment',
      components: {
        'com.example.Hello': {
          componentVersion: '1.0.0',
          configurationUpdate: { merge: '{"greeting":"hi"}', reset: ['/greeting'] },
          runWith: { posixUser: 'ggc_user', windowsUser: 'ggc_user', systemResourceLimits: { memory: 1024, cpus: 0.5 } },
        },
      },
      iotJobConfiguration: {
        jobExecutionsRolloutConfig: {
          exponentialRate: { baseRatePerMinute: 10, incrementFactor: 2, rateIncreaseCriteria: { numberOfNotifiedThings: 5, numberOfSucceededThings: 5 } },
          maximumPerMinute: 100,
        },
        abortConfig: { criteriaList: [{ failureType: 'FAILED', action: 'CANCEL', thresholdPercentage: 50, minNumberOfExecutedThings: 10 }] },
        timeoutConfig: { inProgressTimeoutInMinutes: 60 },
      },
      deploymentPolicies: {
        failureHandlingPolicy: 'ROLLBACK',
        componentUpdatePolicy: { timeoutInSeconds: 60, action: 'NOTIFY_COMPONENTS' },
        configurationValidationPolicy: { timeoutInSeconds: 30 },
      },
      parentTargetArn: 'arn:aws:iot:us-east-1:123456789012:thinggroup/model-parent',
      tags: { team: 'edge' },
      clientToken: 'model-token-1',
    },
    CreateComponentVersion: {
      inlineRecipe: Buffer.from('{}'),
      lambdaFunction: {
        lambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:model-function:1',
        componentName: 'com.example.Model',
        componentVersion: '1.0.0',
        componentPlatforms: [{ name: 'linux', attributes: { os: 'linux' } }],
        componentDependencies: { 'com.example.Dependency': { versionRequirement: '^1.0.0', dependencyType: 'HARD' } },
        componentLambdaParameters: {
          eventSources: [{ topic: 'model/topic', type: 'PUB_SUB' }],
          inputPayloadEncodingType: 'json',
          environmentVariables: { MODEL: 'yes' },
          linuxProcessParams: {
            isolationMode: 'GreengrassContainer',
            containerParams: {
              volumes: [{ sourcePath: '/src', destinationPath: '/dst', permission: 'ro' }],
              devices: [{ path: '/dev/model', permission: 'rw' }],
            },
          },
        },
      },
      tags: { team: 'edge' },
      clientToken: 'model-token-2',
    },
    DescribeComponent: { arn: COMPONENT_VERSION_ARN },
    GetComponent: { arn: COMPONENT_VERSION_ARN, recipeOutputFormat: 'YAML' },
    ListComponents: { scope: 'PRIVATE', maxResults: 10 },
    ListComponentVersions: { arn: COMPONENT_ARN, maxResults: 10 },
    DeleteComponent: { arn: COMPONENT_VERSION_ARN },
    GetComponentVersionArtifact: { arn: COMPONENT_VERSION_ARN, artifactName: 'model-artifact.zip', s3EndpointType: 'REGIONAL', iotEndpointType: 'standard' },
    ResolveComponentCandidates: {
      platform: { name: 'linux', attributes: { os: 'linux' } },
      componentCandidates: [{ componentName: 'com.example.Model', componentVersion: '1.0.0', versionRequirements: { 'com.example.Dependent': '^1.0.0' } }],
    },
    GetDeployment: { deploymentId: 'model-deployment-id' },
    ListDeployments: { targetArn: THING_GROUP_ARN, historyFilter: 'ALL', parentTargetArn: THING_GROUP_ARN, maxResults: 10 },
    CancelDeployment: { deploymentId: 'model-deployment-id' },
    DeleteDeployment: { deploymentId: 'model-deployment-id' },
    TagResource: { resourceArn: DEPLOYMENT_ARN, tags: { team: 'edge' } },
    UntagResource: { resourceArn: DEPLOYMENT_ARN, tagKeys: ['team'] },
    ListTagsForResource: { resourceArn: DEPLOYMENT_ARN },
    // core devices
    ListCoreDevices: { thingGroupArn: THING_GROUP_ARN, status: 'HEALTHY', runtime: 'aws_nucleus_classic', maxResults: 10 },
    GetCoreDevice: { coreDeviceThingName: 'model-core' },
    DeleteCoreDevice: { coreDeviceThingName: 'model-core' },
    ListInstalledComponents: { coreDeviceThingName: 'model-core', topologyFilter: 'ALL', maxResults: 10 },
    ListEffectiveDeployments: { coreDeviceThingName: 'model-core', maxResults: 10 },
  },
  iot: {
    CreateThing: { thingName: 'model-thing', thingTypeName: 'model-type', attributePayload: ATTRIBUTE_PAYLOAD, billingGroupName: 'model-billing' },
    DescribeThing: { thingName: 'model-thing' },
    UpdateThing: { thingName: 'model-thing', thingTypeName: 'model-type', attributePayload: ATTRIBUTE_PAYLOAD, expectedVersion: 1 },
    DeleteThing: { thingName: 'model-thing', expectedVersion: 1 },
    ListThings: { maxResults: 10, attributeName: 'serial', attributeValue: 'SN-0001', thingTypeName: 'model-type' },
    CreateThingGroup: {
      thingGroupName: 'model-group',
      parentGroupName: 'model-parent',
      thingGroupProperties: GROUP_PROPERTIES,
      tags: [{ Key: 'team', Value: 'edge' }],
    },
    DescribeThingGroup: { thingGroupName: 'model-group' },
    UpdateThingGroup: { thingGroupName: 'model-group', thingGroupProperties: GROUP_PROPERTIES, expectedVersion: 1 },
    DeleteThingGroup: { thingGroupName: 'model-group', expectedVersion: 1 },
    ListThingGroups: { maxResults: 10, parentGroup: 'model-parent', namePrefixFilter: 'model', recursive: true },
    AddThingToThingGroup: { thingGroupName: 'model-group', thingName: 'model-thing' },
    RemoveThingFromThingGroup: { thingGroupName: 'model-group', thingName: 'model-thing' },
    ListThingsInThingGroup: { thingGroupName: 'model-group', recursive: true, maxResults: 10 },
    ListThingGroupsForThing: { thingName: 'model-thing', maxResults: 10 },
    TagResource: { resourceArn: 'arn:aws:iot:us-east-1:123456789012:thing/model-thing', tags: [{ Key: 'team', Value: 'edge' }] },
    UntagResource: { resourceArn: 'arn:aws:iot:us-east-1:123456789012:thing/model-thing', tagKeys: ['team'] },
    ListTagsForResource: { resourceArn: 'arn:aws:iot:us-east-1:123456789012:thing/model-thing' },
    // jobs (rollouts)
    DescribeJob: { jobId: 'model-job' },
    ListJobs: {
      status: 'IN_PROGRESS',
      targetSelection: 'CONTINUOUS',
      maxResults: 10,
      thingGroupName: 'model-group',
      thingGroupId: 'model-group-id',
      namespaceId: 'aws-gg-deployment',
    },
    ListJobExecutionsForJob: { jobId: 'model-job', status: 'QUEUED', maxResults: 10 },
    ListJobExecutionsForThing: { thingName: 'model-thing', status: 'QUEUED', namespaceId: 'aws-gg-deployment', maxResults: 10, jobId: 'model-job' },
    DescribeJobExecution: { jobId: 'model-job', thingName: 'model-thing', executionNumber: 1 },
    GetJobDocument: { jobId: 'model-job' },
    CancelJob: { jobId: 'model-job', reasonCode: 'MODEL_REASON', comment: 'model comment', force: false },
    CreateKeysAndCertificate: { setAsActive: true },
    CreateCertificateFromCsr: { certificateSigningRequest: '-----BEGIN CERTIFICATE REQUEST-----\nbW9kZWw=\n-----END CERTIFICATE REQUEST-----\n', setAsActive: true },
    DescribeCertificate: { certificateId: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' },
    UpdateCertificate: { certificateId: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', newStatus: 'INACTIVE' },
    DeleteCertificate: { certificateId: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', forceDelete: false },
    ListCertificates: { pageSize: 10, ascendingOrder: true, marker: 'bW9kZWw=' },
    DescribeCACertificate: { certificateId: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' },
    AttachThingPrincipal: { thingName: 'model-thing', principal: 'arn:aws:iot:us-east-1:123456789012:cert/' + '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', thingPrincipalType: 'EXCLUSIVE_THING' },
    DetachThingPrincipal: { thingName: 'model-thing', principal: 'arn:aws:iot:us-east-1:123456789012:cert/' + '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' },
    ListThingPrincipals: { thingName: 'model-thing', maxResults: 10 },
    ListPrincipalThings: { principal: 'arn:aws:iot:us-east-1:123456789012:cert/' + '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', maxResults: 10 },
  },
};

const SERVICES = [
  { id: 'greengrassv2' as const, model: ServiceModel.load('greengrassv2'), served: Object.keys(greengrassHandlers) },
  { id: 'iot' as const, model: ServiceModel.load('iot'), served: Object.keys(iotHandlers) },
];

interface Case {
  service: 'greengrassv2' | 'iot';
  operation: string;
  /** The member's path as meadow names it: `a.b`, list item `a[0]`, map value `a[key]`, map key `a[key](key)`. */
  path: string;
  /** The AWS validator's wording of the broken rule. */
  rule: string;
  input: Input;
}

type Step = string | number;

/** Characters tried in place of the first or last character of a valid value, to fail its pattern within its length. */
const PATTERN_BREAKERS = [' ', '!', '"', '%', '\t', 'é', '~', '{', '|', '\u00a0'];

const length = (s: string) => [...s].length;
const cut = (s: string, n: number) => [...s].slice(0, n).join('');
const padTo = (s: string, n: number) => {
  const chars = [...s];
  return chars.length >= n ? cut(s, n) : s + (chars.at(-1) ?? 'a').repeat(n - chars.length);
};

const at = (root: Input, steps: Step[]) => steps.reduce<unknown>((o, s) => (o as Record<Step, unknown>)[s], root);

/** A copy of the base input with one edit applied to the container holding the last step. */
function edited(base: Input, steps: Step[], edit: (parent: Record<Step, unknown>, last: Step) => void): Input {
  const copy = structuredClone(base);
  edit(at(copy, steps.slice(0, -1)) as Record<Step, unknown>, steps.at(-1)!);
  return copy;
}
const withValue = (base: Input, steps: Step[], value: unknown) => edited(base, steps, (p, k) => (p[k] = value));
const without = (base: Input, steps: Step[]) => edited(base, steps, (p, k) => delete p[k]);
const withKeyRenamed = (base: Input, mapSteps: Step[], from: string, to: string) =>
  edited(base, mapSteps, (p, k) => {
    const map = p[k] as Record<string, unknown>;
    p[k] = Object.fromEntries(Object.entries(map).map(([key, v]) => [key === from ? to : key, v]));
  });

/** Walks one operation's input shape alongside its base input and derives the violating requests. */
const MATCHES_ANYTHING = new Set(['[\\s\\S]*']);

class CaseBuilder {
  readonly cases: Case[] = [];
  /** Constrained members the base input does not reach: the table above must be completed. */
  readonly unreached: string[] = [];
  /** Constraints that cannot be put on the wire, with the reason. */
  readonly skipped: string[] = [];
  /** Constraints no violating value was found for, or base values that break their own shape. */
  readonly problems: string[] = [];

  constructor(
    private readonly service: 'greengrassv2' | 'iot',
    private readonly model: ServiceModel,
    private readonly operation: string,
    private readonly base: Input,
  ) {
    const op = model.operations[operation];
    if (op.input) this.structure(op.input.shape, [], '', true);
  }

  private add(path: string, rule: string, input: Input) {
    this.cases.push({ service: this.service, operation: this.operation, path, rule, input });
  }

  private structure(shapeName: string, steps: Step[], prefix: string, topLevel = false): void {
    const shape = this.model.shape(shapeName);
    const value = at(this.base, steps) as Record<string, unknown>;
    for (const [name, ref] of Object.entries(shape.members ?? {})) {
      const path = prefix + name;
      const memberSteps = [...steps, name];
      const inPath = topLevel && ref.location === 'uri';
      if (shape.required?.includes(name)) {
        // The SDK throws "No value provided for input HTTP label" before sending; without the label the
        // request would be another URL altogether.
        if (inPath) this.skipped.push(`${this.operation} ${path}: required path label cannot be omitted`);
        else this.add(path, 'Member must not be null', without(this.base, memberSteps));
      }
      if (value[name] === undefined) {
        if (this.isConstrained(ref.shape)) this.unreached.push(`${this.operation} ${path}`);
        continue;
      }
      this.member(ref.shape, memberSteps, path, { inQuery: topLevel && ref.location === 'querystring' });
    }
  }

  private member(shapeName: string, steps: Step[], path: string, where: { inQuery: boolean }): void {
    const shape = this.model.shape(shapeName);
    const value = at(this.base, steps);
    switch (shape.type) {
      case 'structure':
        return this.structure(shapeName, steps, `${path}.`);
      case 'list': {
        const items = value as unknown[];
        if (shape.min !== undefined && shape.min > 0) {
          // An empty list has no query-string form: the SDK sends nothing, which is "missing", not "too short".
          if (where.inQuery && shape.min === 1) this.skipped.push(`${this.operation} ${path}: an empty query-string list is not sent`);
          else this.add(path, `Member must have length greater than or equal to ${shape.min}`, withValue(this.base, steps, items.slice(0, shape.min - 1)));
        }
        if (shape.max !== undefined) {
          this.add(path, `Member must have length less than or equal to ${shape.max}`, withValue(this.base, steps, Array(shape.max + 1).fill(items[0])));
        }
        if (items.length === 0) {
          if (this.isConstrained(shape.member!.shape)) this.unreached.push(`${this.operation} ${path}[0]`);
          return;
        }
        return this.member(shape.member!.shape, [...steps, 0], `${path}[0]`, where);
      }
      case 'map': {
        const entries = Object.entries(value as Record<string, unknown>);
        if (shape.min !== undefined && shape.min > 0) {
          this.add(path, `Member must have length greater than or equal to ${shape.min}`, withValue(this.base, steps, Object.fromEntries(entries.slice(0, shape.min - 1))));
        }
        if (shape.max !== undefined) {
          const [key, first] = entries[0];
          const big = Object.fromEntries(Array.from({ length: shape.max + 1 }, (_, i) => [`${cut(key, 100)}${i}`, first]));
          this.add(path, `Member must have length less than or equal to ${shape.max}`, withValue(this.base, steps, big));
        }
        if (entries.length === 0) {
          if (this.isConstrained(shape.key!.shape) || this.isConstrained(shape.value!.shape)) this.unreached.push(`${this.operation} ${path}`);
          return;
        }
        const key = entries[0][0];
        for (const v of this.stringViolations(this.model.shape(shape.key!.shape), key)) {
          this.add(`${path}[${v.value}](key)`, v.rule, withKeyRenamed(this.base, steps, key, v.value));
        }
        return this.member(shape.value!.shape, [...steps, key], `${path}[${key}]`, where);
      }
      case 'string':
        for (const v of this.stringViolations(shape, value as string)) this.add(path, v.rule, withValue(this.base, steps, v.value));
        return;
      case 'integer':
      case 'long':
      case 'double':
      case 'float': {
        if (shape.min !== undefined) this.add(path, `Member must have value greater than or equal to ${shape.min}`, withValue(this.base, steps, shape.min - 1));
        if (shape.max !== undefined) {
          // Past 2^53 adding 1 changes nothing (Memory's max is 2^63 - 4096), so go well beyond.
          const above = shape.max + 1 > shape.max ? shape.max + 1 : shape.max * 2;
          this.add(path, `Member must have value less than or equal to ${shape.max}`, withValue(this.base, steps, above));
        }
        return;
      }
      default:
        return;
    }
  }

  /** One value per string constraint of the shape, each derived from the valid value so it breaks only that rule. */
  private stringViolations(shape: Shape, valid: string): { value: string; rule: string }[] {
    const out: { value: string; rule: string }[] = [];
    if (shape.enum) {
      const bogus = `not-${shape.enum[0]}`;
      out.push({ value: bogus, rule: `Member must satisfy enum value set: [${shape.enum.join(', ')}]` });
    }
    if (shape.min !== undefined && shape.min > 0) {
      out.push({ value: cut(valid, shape.min - 1), rule: `Member must have length greater than or equal to ${shape.min}` });
    }
    if (shape.max !== undefined) {
      out.push({ value: padTo(valid, shape.max + 1), rule: `Member must have length less than or equal to ${shape.max}` });
    }
    // A pattern that accepts any string (CertificateSigningRequest's `[\s\S]*`) has nothing to violate.
    if (shape.pattern && !MATCHES_ANYTHING.has(shape.pattern)) {
      const re = compilePattern(shape.pattern);
      if (!re.test(valid)) this.problems.push(`${this.operation}: base value '${valid}' does not satisfy ${shape.pattern}`);
      // The valid value with one bad character, like 'my thing': it must fail as a whole even though most of
      // it matches (AWS matches patterns against the whole value).
      const fits = (s: string) => length(s) >= (shape.min ?? 0) && length(s) <= (shape.max ?? Infinity);
      const candidates = PATTERN_BREAKERS.flatMap((c) => [c + [...valid].slice(1).join(''), cut(valid, length(valid) - 1) + c]);
      const bad = candidates.find((s) => fits(s) && !re.test(s));
      if (bad === undefined) this.problems.push(`${this.operation}: no value of allowed length near '${valid}' fails ${shape.pattern}`);
      else out.push({ value: bad, rule: `Member must satisfy regular expression pattern: ${shape.pattern}` });
    }
    return out;
  }

  private isConstrained(shapeName: string, seen = new Set<string>()): boolean {
    if (seen.has(shapeName)) return false;
    seen.add(shapeName);
    const s = this.model.shape(shapeName);
    if (s.min !== undefined || s.max !== undefined || s.pattern || s.enum || (s.required?.length ?? 0) > 0) return true;
    const children = [...Object.values(s.members ?? {}), s.member, s.key, s.value].filter((r) => r !== undefined);
    return children.some((r) => this.isConstrained(r.shape, seen));
  }
}

const builders = SERVICES.flatMap(({ id, model, served }) => served.map((op) => new CaseBuilder(id, model, op, BASE_INPUTS[id][op] ?? {})));
const CASES = builders.flatMap((b) => b.cases);
// The models put this many constraints on the served operations; a drop means the walk lost some of them.
const MIN_CASES = 180;

type CommandClass = new (input: Input) => unknown;
const COMMANDS: Record<'greengrassv2' | 'iot', Record<string, CommandClass>> = {
  greengrassv2: greengrassSdk as unknown as Record<string, CommandClass>,
  iot: iotSdk as unknown as Record<string, CommandClass>,
};

async function rejection(s: TestServer, c: Case): Promise<unknown> {
  const Command = COMMANDS[c.service][`${c.operation}Command`];
  const command = new Command(c.input);
  try {
    if (c.service === 'greengrassv2') await s.gg.send(command as never);
    else await s.iot.send(command as never);
  } catch (e) {
    return e;
  }
  assert.fail(`${c.operation} accepted a request breaking '${c.rule}' at '${c.path}'`);
}

/** For test names: a run of one character (a too-long map key in a path) is written as its length. */
const shortened = (text: string) => text.replace(/(.)\1{15,}/g, (run, c: string) => `<${run.length} x ${c}>`);

/** The member paths an AWS validation message names: "Value ... at 'path' failed to satisfy constraint: ...". */
const namedPaths = (message: string) => [...message.matchAll(/ at '([^']*)' failed to satisfy constraint/g)].map((m) => m[1]);

for (const kind of STORE_KINDS) {
  describe(`model constraints on the wire (${kind})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(kind);
    });
    after(() => s.close());

    it('has a base input for every served operation, reaching every constrained member', () => {
      for (const { id, served } of SERVICES) assert.deepEqual(Object.keys(BASE_INPUTS[id]).sort(), [...served].sort());
      assert.deepEqual(builders.flatMap((b) => b.unreached), []);
      assert.deepEqual(builders.flatMap((b) => b.problems), []);
      assert.ok(CASES.length >= MIN_CASES, `only ${CASES.length} constraint cases derived from the models`);
      // The only constraints left out are the ones no SDK request can carry.
      for (const reason of builders.flatMap((b) => b.skipped)) {
        assert.match(reason, /required path label cannot be omitted|an empty query-string list is not sent/);
      }
    });

    for (const c of CASES) {
      it(`${c.service} ${c.operation} ${shortened(c.path)}: ${shortened(c.rule)}`, async () => {
        const e = await rejection(s, c);
        if (c.service === 'greengrassv2') {
          assert.ok(e instanceof greengrassSdk.ValidationException, `expected ValidationException, got ${(e as Error).name}: ${(e as Error).message}`);
          assert.equal(e.reason, 'FIELD_VALIDATION_FAILED');
          assert.ok(e.fields && e.fields.length > 0);
          assert.deepEqual(new Set(e.fields.map((f) => f.name)), new Set([c.path]));
          assert.ok(e.fields.some((f) => f.message?.includes(c.rule)), `no field message says '${c.rule}': ${e.message}`);
        } else {
          assert.ok(e instanceof iotSdk.InvalidRequestException, `expected InvalidRequestException, got ${(e as Error).name}: ${(e as Error).message}`);
        }
        const err = e as Error & { $metadata: { httpStatusCode?: number } };
        assert.equal(err.$metadata.httpStatusCode, 400);
        // The message names this member only (the rest of the request is valid) and states the broken rule.
        assert.deepEqual(new Set(namedPaths(err.message)), new Set([c.path]), err.message.slice(0, 500));
        assert.ok(err.message.includes(`at '${c.path}' failed to satisfy constraint: ${c.rule}`), err.message.slice(0, 500));
      });
    }
  });
}
