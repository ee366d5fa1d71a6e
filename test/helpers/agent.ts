// A real meadow server and real meadow agents on localhost, for the agent's end-to-end tests (test/agent-e2e.test.ts,
// test/agent-recovery.test.ts): devices provisioned with `meadow provision`'s code, agents in this process (`Agent`)
// or as `meadow agent` processes where a kill -9 is needed, components whose artifacts are shell scripts published
// through CreateComponentVersion, and what the cloud shows of them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  ListEffectiveDeploymentsCommand,
  ListInstalledComponentsCommand,
  type CreateDeploymentCommandInput,
  type EffectiveDeployment,
  type GreengrassV2Client,
} from '@aws-sdk/client-greengrassv2';
import { AddThingToThingGroupCommand, CreateThingGroupCommand, DescribeJobExecutionCommand, type IoTClient } from '@aws-sdk/client-iot';
import { Agent } from '../../src/agent/agent.js';
import { provisionDevice } from '../../src/devices/provision.js';
import { REGION, uniqueName } from './greengrass.js';
import { after, before } from 'node:test';
import { startTestServer, TEST_CREDENTIALS, type TestServer } from './server.js';

export const MEADOW_BIN = fileURLToPath(new URL('../../bin/meadow.js', import.meta.url));
export const quietLogger = pino({ level: process.env.MEADOW_TEST_AGENT_LOG ?? 'silent' });
export const agentIsRoot = process.getuid?.() === 0;
/** Component steps that would wait two minutes by default give up sooner in tests. */
export const TEST_RUNNER = {
  defaultTimeoutsMs: { Startup: 10_000, Install: 20_000, Shutdown: 3_000 },
  killGraceMs: 1000,
  // As root, components need a user (the nucleus's runWithDefault); the test machine's root will do.
  ...(agentIsRoot && { defaultPosixUser: 'root' }),
};

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** What the testbed needs of a server: a TestServer, or a `meadow serve` process with clients made for it. */
export interface AgentServer {
  endpoint: string;
  mqttPort: number;
  dataPlaneEndpoint: string;
  gg: GreengrassV2Client;
  iot: IoTClient;
}

export interface Device {
  thingName: string;
  thingArn: string;
  bundle: string;
  root: string;
}

export interface RecipeSpec {
  lifecycle: Record<string, unknown>;
  defaults?: Record<string, unknown>;
  script?: string;
  dependencies?: Record<string, unknown>;
}

// A component that writes its interpolated configuration, and some of the nucleus's environment, to a file.
export const WRITER = '#!/bin/sh\nprintf "%s %s %s %s\\n" "$1" "$AWS_IOT_THING_NAME" "$AWS_REGION" "${SVCUID:+has-svcuid}" > "$2"\n';
export const writerLifecycle = { Run: 'sh {artifacts:path}/run.sh "{configuration:/greeting}" "{work:path}/out.txt"' };

export class AgentTestbed {
  readonly work = mkdtempSync(join(tmpdir(), 'mda-'));
  readonly bucket = uniqueName('artifacts');
  private readonly agents: Agent[] = [];
  private readonly children: ChildProcess[] = [];
  private s3: S3Client;

  /** `server` may be swapped (a restarted `meadow serve`); the devices keep the endpoints they were provisioned with. */
  constructor(public server: AgentServer) {
    this.s3 = this.s3For(server);
    // mkdtemp makes it 0700; components running as another user (runWith) must reach their work folders below it.
    chmodSync(this.work, 0o755);
  }

  private s3For(server: AgentServer) {
    return new S3Client({ endpoint: server.endpoint, region: REGION, credentials: TEST_CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
  }

  async init(): Promise<this> {
    await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
    return this;
  }

  useServer(server: AgentServer): void {
    this.s3.destroy();
    this.server = server;
    this.s3 = this.s3For(server);
  }

  async close(): Promise<void> {
    for (const a of this.agents) await a.stop().catch(() => undefined);
    // SIGTERM first, so an agent stops its components rather than leaving them running.
    for (const c of this.children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    this.s3.destroy();
    rmSync(this.work, { recursive: true, force: true });
  }

  async newDevice(groups: string[]): Promise<Device> {
    const s = this.server;
    const thingName = uniqueName('core');
    const bundle = join(this.work, `${thingName}-bundle`);
    const provisioned = await provisionDevice({
      endpoint: s.endpoint,
      region: REGION,
      credentials: TEST_CREDENTIALS,
      thingName,
      thingGroupName: groups[0],
      outDir: bundle,
      iotDataEndpoint: `127.0.0.1:${s.mqttPort}`,
      dataPlaneEndpoint: s.dataPlaneEndpoint,
    });
    for (const g of groups.slice(1)) {
      await s.iot.send(new CreateThingGroupCommand({ thingGroupName: g })).catch(() => undefined);
      await s.iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: g }));
    }
    return { thingName, thingArn: provisioned.thingArn, bundle, root: join(this.work, thingName.slice(-8)) };
  }

  /** An agent in this process. */
  async startAgent(d: Device, extra: Partial<Parameters<typeof Agent.start>[0]> = {}): Promise<Agent> {
    const agent = await Agent.start({ bundleDir: d.bundle, root: d.root, logger: quietLogger.child({ thing: d.thingName }), runner: TEST_RUNNER, ...extra });
    this.agents.push(agent);
    return agent;
  }

  /** `meadow agent` as a process of its own (for kill -9), as root with root as its default user. */
  spawnAgent(d: Device, env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [MEADOW_BIN, 'agent', '--bundle', d.bundle, '--root', d.root, '--log-level', 'warn', ...(agentIsRoot ? ['--default-user', 'root'] : [])], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...env },
    });
    this.children.push(child);
    return child;
  }

  /** Publishes a component version whose artifact is `script` (a shell script) and whose lifecycle is given. */
  async publish(name: string, version: string, recipe: RecipeSpec): Promise<{ key: string }> {
    const key = `${name}/${version}/run.sh`;
    const artifacts = [];
    if (recipe.script !== undefined) {
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: recipe.script }));
      artifacts.push({ Uri: `s3://${this.bucket}/${key}`, Permission: { Read: 'OWNER', Execute: 'OWNER' } });
    }
    const out = await this.server.gg.send(
      new CreateComponentVersionCommand({
        inlineRecipe: Buffer.from(
          JSON.stringify({
            RecipeFormatVersion: '2020-01-25',
            ComponentName: name,
            ComponentVersion: version,
            ...(recipe.dependencies && { ComponentDependencies: recipe.dependencies }),
            ...(recipe.defaults && { ComponentConfiguration: { DefaultConfiguration: recipe.defaults } }),
            Manifests: [{ Platform: { os: 'linux' }, Lifecycle: recipe.lifecycle, Artifacts: artifacts }],
          }),
        ),
      }),
    );
    assert.equal(out.status?.componentState, 'DEPLOYABLE', JSON.stringify(out.status));
    return { key };
  }

  /** Replaces a published artifact's bytes (its recipe keeps the old digest). */
  putArtifact(key: string, body: string) {
    return this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
  }

  deploy(input: CreateDeploymentCommandInput) {
    return this.server.gg.send(new CreateDeploymentCommand(input));
  }

  async effective(thingName: string, deploymentId: string): Promise<EffectiveDeployment | undefined> {
    const out = await this.server.gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: thingName }));
    return out.effectiveDeployments?.find((e) => e.deploymentId === deploymentId);
  }

  /** Waits for the deployment to end on the device (any status other than QUEUED / IN_PROGRESS). */
  ended(thingName: string, deploymentId: string, timeoutMs = 40_000): Promise<EffectiveDeployment> {
    return waitFor(
      `deployment ${deploymentId} to end on ${thingName}`,
      async () => {
        const e = await this.effective(thingName, deploymentId);
        return e && !['QUEUED', 'IN_PROGRESS'].includes(e.coreDeviceExecutionStatus!) ? e : undefined;
      },
      timeoutMs,
    );
  }

  async installed(thingName: string): Promise<Record<string, { version: string; state: string }>> {
    const out = await this.server.gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: thingName }));
    return Object.fromEntries((out.installedComponents ?? []).map((c) => [c.componentName!, { version: c.componentVersion!, state: c.lifecycleState! }]));
  }

  async jobDetails(jobId: string, thingName: string): Promise<Record<string, string>> {
    const out = await this.server.iot.send(new DescribeJobExecutionCommand({ jobId, thingName }));
    return out.execution?.statusDetails?.detailsMap ?? {};
  }

  async groupArn(name: string): Promise<string> {
    return (await this.server.iot.send(new CreateThingGroupCommand({ thingGroupName: name }))).thingGroupArn!;
  }
}

/**
 * Starts a SQLite test server and a testbed on it before the suite's tests and closes both after them (the agent's
 * behaviour does not depend on the server's store). Call inside `describe`; read `.s` and `.t` inside tests.
 */
export function useAgentTestbed(): { readonly s: TestServer; readonly t: AgentTestbed } {
  const ctx = {} as { s: TestServer; t: AgentTestbed };
  before(async () => {
    ctx.s = await startTestServer('sqlite');
    ctx.t = await new AgentTestbed(ctx.s).init();
  });
  after(async () => {
    await ctx.t?.close();
    await ctx.s?.close();
  });
  return ctx;
}
