// Shared steps for the Greengrass V2 deployment suites: targets to deploy to, components to deploy, error
// expectations that check the exact SDK class and the response headers, complete listings, and raw signed HTTP for
// what the SDK cannot send.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  ConflictException,
  GreengrassV2ServiceException,
  paginateListDeployments,
  type CreateComponentVersionCommandOutput,
  type CreateDeploymentCommandInput,
  type Deployment,
  type GreengrassV2Client,
  type ListDeploymentsCommandInput,
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  ListDeploymentsCommand,
} from '@aws-sdk/client-greengrassv2';
import { CreateThingCommand, CreateThingGroupCommand } from '@aws-sdk/client-iot';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_CREDENTIALS, type TestServer } from './server.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** A name no other test uses, so suites can share one server. */
export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

export async function newThingGroup(s: TestServer, name = uniqueName('group'), parentGroupName?: string): Promise<string> {
  const out = await s.iot.send(new CreateThingGroupCommand({ thingGroupName: name, parentGroupName }));
  return out.thingGroupArn!;
}

export async function newThing(s: TestServer, name = uniqueName('thing')): Promise<string> {
  const out = await s.iot.send(new CreateThingCommand({ thingName: name }));
  return out.thingArn!;
}

/** A dependency as a recipe declares it. */
export interface RecipeDependency {
  VersionRequirement: string;
  DependencyType?: 'HARD' | 'SOFT';
}

export interface RecipeOptions {
  dependencies?: Record<string, RecipeDependency>;
  /** Artifact URIs of the manifest; none by default, so publishing needs no artifact store. */
  artifacts?: string[];
}

/** The smallest valid recipe (JSON): one manifest for any platform whose Run step prints the component's name. */
export function minimalRecipe(name: string, version: string, { dependencies, artifacts }: RecipeOptions = {}): string {
  return JSON.stringify({
    RecipeFormatVersion: '2020-01-25',
    ComponentName: name,
    ComponentVersion: version,
    ...(dependencies && { ComponentDependencies: dependencies }),
    Manifests: [{ Lifecycle: { Run: `echo ${name} ${version}` }, ...(artifacts && { Artifacts: artifacts.map((Uri) => ({ Uri })) }) }],
  });
}

/** Publishes one component version from a minimal recipe through CreateComponentVersion; returns the response. */
export async function publishComponent(
  s: { gg: GreengrassV2Client },
  name: string,
  version: string,
  opts: RecipeOptions = {},
): Promise<CreateComponentVersionCommandOutput> {
  return s.gg.send(new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(minimalRecipe(name, version, opts)) }));
}

/**
 * Makes every `name@version` in the list deployable, publishing the ones that do not exist yet (a version that
 * exists already is left as it is), so suites can deploy them.
 */
export async function publishComponents(s: { gg: GreengrassV2Client }, refs: string[]): Promise<void> {
  for (const ref of refs) {
    const at = ref.lastIndexOf('@');
    assert.ok(at > 0, `'${ref}' is not name@version`);
    const [name, version] = [ref.slice(0, at), ref.slice(at + 1)];
    try {
      const out = await publishComponent(s, name, version);
      assert.equal(out.status?.componentState, 'DEPLOYABLE', `${ref} was published ${out.status?.componentState}: ${JSON.stringify(out.status)}`);
    } catch (e) {
      if (!(e instanceof ConflictException && e.resourceType === 'componentVersion')) throw e;
    }
  }
}

export const deploymentArnOf = (deploymentId: string, account = ACCOUNT, region = REGION) =>
  `arn:aws:greengrass:${region}:${account}:deployments:${deploymentId}`;

export async function deploy(s: TestServer, input: CreateDeploymentCommandInput) {
  return s.gg.send(new CreateDeploymentCommand(input));
}

/** Every deployment matching the filter, through the SDK paginator. */
export async function listAll(s: TestServer, input: ListDeploymentsCommandInput = {}, pageSize?: number): Promise<Deployment[]> {
  const out: Deployment[] = [];
  for await (const page of paginateListDeployments({ client: s.gg, pageSize }, input)) out.push(...(page.deployments ?? []));
  return out;
}

/** Ids of every deployment of every revision: what "nothing was written" is checked against. */
export async function allDeploymentIds(s: TestServer): Promise<string[]> {
  const page = await s.gg.send(new ListDeploymentsCommand({ historyFilter: 'ALL', maxResults: 100 }));
  assert.equal(page.nextToken, undefined, 'allDeploymentIds expects fewer than 100 deployments on its server');
  return (page.deployments ?? []).map((d) => d.deploymentId!).sort();
}

type ErrorClass<E> = abstract new (...args: any[]) => E;

/** Every error response names its request and carries a Date (the JS SDK corrects clock skew from it). */
function assertErrorHeaders(e: GreengrassV2ServiceException) {
  assert.ok(e.$metadata.requestId, `${e.name} response has no x-amzn-RequestId`);
  const headers = e.$response?.headers ?? {};
  assert.ok(headers['x-amzn-requestid'], `${e.name} response has no x-amzn-RequestId header`);
  assert.ok(!Number.isNaN(Date.parse(headers['date'] ?? '')), `${e.name} response has no valid Date header`);
}

/**
 * Awaits a request that must fail with exactly this modelled SDK exception class (named `name`, which is the class's
 * own name except for unmodelled errors); returns the exception.
 */
export async function rejectsWith<E extends Error>(request: Promise<unknown>, cls: ErrorClass<E>, name = cls.name): Promise<E> {
  let result: unknown;
  try {
    result = await request;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${name}, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.equal((e as Error).name, name, (e as Error).message);
    assert.ok((e as Error).message.length > 0, `${cls.name} has no message`);
    if (e instanceof GreengrassV2ServiceException) assertErrorHeaders(e);
    return e;
  }
  assert.fail(`expected ${name}, but the request succeeded with ${JSON.stringify(result)}`);
}

/** For errors outside the model (authentication): the SDK raises its service base class named by the error code. */
export async function rejectsNamed(request: Promise<unknown>, name: string): Promise<GreengrassV2ServiceException> {
  return rejectsWith(request, GreengrassV2ServiceException, name);
}

/**
 * The field violation a ValidationException names at `path`, checking that it is FIELD_VALIDATION_FAILED and that
 * the exception's message names the path. Violations in AWS's validator wording ("Value x at 'path' failed to
 * satisfy constraint: ...") name it in their own message too; `validatorWording: false` is for the few that don't.
 */
export function fieldViolation(
  e: { reason?: string; fields?: { name?: string; message?: string }[]; message: string },
  path: string,
  { validatorWording = true } = {},
) {
  assert.equal(e.reason, 'FIELD_VALIDATION_FAILED', e.message);
  const field = e.fields?.find((f) => f.name === path);
  assert.ok(field, `no violation at '${path}' in ${JSON.stringify(e.fields)}`);
  assert.ok(field.message && field.message.length > 0, `violation at '${path}' has no message`);
  if (validatorWording) {
    assert.ok(field.message.includes(`at '${path}' failed to satisfy constraint: `), `violation message does not name '${path}': ${field.message}`);
  }
  assert.ok(e.message.includes(path), `exception message does not name '${path}': ${e.message}`);
  return field;
}

export interface RawRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  body?: string;
  region?: string;
  service?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** false signs as botocore does: no x-amz-content-sha256 header (the body hash is still signed). */
  applyChecksum?: boolean;
}

/** A request signed exactly as an SDK would (SigV4, header form), not yet sent. */
export async function signRequest(endpoint: string, r: RawRequest): Promise<{ url: string; init: RequestInit & { headers: Record<string, string> } }> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    service: r.service ?? 'greengrass',
    region: r.region ?? REGION,
    credentials: r.credentials ?? TEST_CREDENTIALS,
    sha256: Sha256,
    applyChecksum: r.applyChecksum ?? true,
  });
  const headers: Record<string, string> = { host: url.host };
  if (r.body !== undefined) headers['content-type'] = 'application/json';
  const signed = await signer.sign({
    method: r.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: r.path,
    query: r.query ?? {},
    headers,
    body: r.body,
  });
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(r.query ?? {})) for (const one of [v].flat()) qs.append(k, one);
  const { host: _fetchSetsHost, ...sendHeaders } = signed.headers as Record<string, string>;
  return {
    url: `${endpoint}${r.path}${qs.size > 0 ? `?${qs}` : ''}`,
    init: { method: r.method, headers: sendHeaders, body: r.body },
  };
}

export async function signedFetch(endpoint: string, r: RawRequest): Promise<Response> {
  const { url, init } = await signRequest(endpoint, r);
  return fetch(url, init);
}

/** An AWS-shaped error response: status, x-amzn-ErrorType, x-amzn-RequestId, Date, and a JSON body with a message. */
export async function expectErrorResponse(res: Response, status: number, errorType: string): Promise<Record<string, any>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get('x-amzn-errortype'), errorType, text);
  assert.ok(res.headers.get('x-amzn-requestid'), 'no x-amzn-RequestId header');
  assert.ok(!Number.isNaN(Date.parse(res.headers.get('date') ?? '')), 'no valid Date header');
  const body = JSON.parse(text);
  assert.equal(typeof body.message, 'string', text);
  assert.ok(body.message.length > 0, text);
  return body;
}
