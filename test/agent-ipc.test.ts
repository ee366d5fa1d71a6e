// The agent's Greengrass IPC server against the real AWS IoT Device SDK v2 IPC client: a component process
// (test/fixtures/ipc-component.mjs) connects over the Unix socket with the environment the agent gives it.
// The host behind the server is an in-memory stand-in (test scaffolding, not the agent's implementation): it
// keeps configuration per component and records every call, so the assertions see both sides of the wire.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { MeadowError, notFound } from '../src/core/errors.js';
import { encodeMessage, int32Header, MessageDecoder, stringHeader, type Headers } from '../src/agent/ipc/framing.js';
import type {
  ComponentUpdatePolicyEvent,
  ConfigurationNode,
  ConfigurationUpdateEvent,
  ConfigurationValidityReport,
  DeferComponentUpdateRequest,
  GetConfigurationRequest,
  IpcEventStream,
  IpcHost,
  ReportedLifecycleState,
  SubscribeToConfigurationUpdateRequest,
  UpdateConfigurationRequest,
  ValidateConfigurationUpdateEvent,
} from '../src/agent/ipc/host.js';
import { ComponentTokens, ipcEnvironment, IpcServer } from '../src/agent/ipc/server.js';

const COMPONENT = 'com.example.Ipc';
const FIXTURE = fileURLToPath(new URL('./fixtures/ipc-component.mjs', import.meta.url));

type Json = Record<string, unknown>;

/** Test scaffolding: configuration in memory, every call recorded, subscriptions exposed to the test. */
class InMemoryHost implements IpcHost {
  readonly configuration = new Map<string, Json>([
    [COMPONENT, { mqtt: { port: 8883 }, greeting: 'hi' }],
    ['com.example.Other', { greeting: 'hello' }],
  ]);
  private readonly lastWrite = new Map<string, number>();
  readonly calls: Array<{ operation: string; caller: string; request?: unknown }> = [];
  readonly configSubscribers: Array<{ caller: string; request: SubscribeToConfigurationUpdateRequest; events: IpcEventStream<ConfigurationUpdateEvent> }> = [];
  readonly componentUpdateSubscribers: Array<IpcEventStream<ComponentUpdatePolicyEvent>> = [];
  readonly validateSubscribers: Array<IpcEventStream<ValidateConfigurationUpdateEvent>> = [];
  readonly closedSubscriptions: string[] = [];

  private node(componentName: string, keyPath: string[]): ConfigurationNode {
    let value: unknown = this.configuration.get(componentName);
    if (value === undefined) throw notFound('Component', componentName);
    for (const key of keyPath) {
      if (typeof value !== 'object' || value === null || !(key in value)) throw notFound('Configuration', keyPath.join('/'), 'Key not found');
      value = (value as Json)[key];
    }
    return { name: keyPath.at(-1) ?? componentName, value };
  }

  updateState(caller: string, state: ReportedLifecycleState) {
    this.calls.push({ operation: 'UpdateState', caller, request: state });
  }

  getConfiguration(caller: string, request: GetConfigurationRequest) {
    this.calls.push({ operation: 'GetConfiguration', caller, request });
    return this.node(request.componentName, request.keyPath);
  }

  updateConfiguration(caller: string, request: UpdateConfigurationRequest) {
    this.calls.push({ operation: 'UpdateConfiguration', caller, request });
    const at = request.timestamp.getTime();
    if (at < (this.lastWrite.get(caller) ?? 0)) {
      throw new MeadowError('VersionConflict', "Proposed timestamp is older than the config's latest modified timestamp");
    }
    this.lastWrite.set(caller, at);
    const target = this.node(caller, request.keyPath).value as Json;
    Object.assign(target, request.valueToMerge);
    for (const key of Object.keys(request.valueToMerge as Json)) {
      for (const s of this.configSubscribers) {
        if (s.request.componentName === caller) s.events.send({ componentName: caller, keyPath: [...request.keyPath, key] });
      }
    }
  }

  subscribeToConfigurationUpdate(caller: string, request: SubscribeToConfigurationUpdateRequest, events: IpcEventStream<ConfigurationUpdateEvent>) {
    this.calls.push({ operation: 'SubscribeToConfigurationUpdate', caller, request });
    this.configSubscribers.push({ caller, request, events });
    return { close: () => this.closedSubscriptions.push('SubscribeToConfigurationUpdate') };
  }

  subscribeToComponentUpdates(caller: string, events: IpcEventStream<ComponentUpdatePolicyEvent>) {
    this.calls.push({ operation: 'SubscribeToComponentUpdates', caller });
    this.componentUpdateSubscribers.push(events);
    // Sent before the subscription's response is out: the server must hold it back until then.
    events.send({ preUpdateEvent: { deploymentId: 'deployment-1', isGgcRestarting: false } });
    return { close: () => this.closedSubscriptions.push('SubscribeToComponentUpdates') };
  }

  deferComponentUpdate(caller: string, request: DeferComponentUpdateRequest) {
    this.calls.push({ operation: 'DeferComponentUpdate', caller, request });
  }

  subscribeToValidateConfigurationUpdates(caller: string, events: IpcEventStream<ValidateConfigurationUpdateEvent>) {
    this.calls.push({ operation: 'SubscribeToValidateConfigurationUpdates', caller });
    this.validateSubscribers.push(events);
    setImmediate(() => events.send({ deploymentId: 'job-7', configuration: { mqtt: { port: 9999 } } }));
    return { close: () => this.closedSubscriptions.push('SubscribeToValidateConfigurationUpdates') };
  }

  sendConfigurationValidityReport(caller: string, report: ConfigurationValidityReport) {
    this.calls.push({ operation: 'SendConfigurationValidityReport', caller, request: report });
  }
}

interface Line {
  step: string;
  result?: any;
  error?: { type: string; description: string; serviceError?: any };
}

/** Runs the fixture component with the agent's environment; `onLine` sees each step as it is printed. */
function runComponent(scenario: string, env: Record<string, string>, onLine: (line: Line) => void = () => {}) {
  const child = spawn(process.execPath, [FIXTURE, scenario], {
    env: { PATH: process.env.PATH, AWS_IOT_THING_NAME: 'ipc-test-thing', AWS_REGION: 'us-east-1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Line;
    lines.push(line);
    onLine(line);
  });
  return new Promise<Map<string, Line>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`component timed out; steps: ${JSON.stringify(lines)}\n${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`component exited with ${code}; steps: ${JSON.stringify(lines)}\n${stderr}`));
      else resolve(new Map(lines.map((line) => [line.step, line])));
    });
  });
}

describe('agent IPC server with the SDK IPC client', () => {
  let dir: string;
  let host: InMemoryHost;
  let tokens: ComponentTokens;
  let server: IpcServer;
  const errors: unknown[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meadow-ipc-'));
    host = new InMemoryHost();
    tokens = new ComponentTokens();
    server = await IpcServer.start({ socketPath: join(dir, 'ipc.socket'), host, tokens, onError: (e) => errors.push(e) });
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a connection with the SVCUID the agent gave the component, and refuses any other', async () => {
    const ok = await runComponent('connect', ipcEnvironment(server.socketPath, tokens.tokenFor(COMPONENT)));
    assert.equal(ok.get('connect')!.result, 'connected');

    const wrong = await runComponent('connect', ipcEnvironment(server.socketPath, 'not-a-token-the-agent-issued'));
    assert.equal(wrong.get('connect')!.error?.type, 'HandshakeError');

    tokens.tokenFor('com.example.Removed');
    const revokedToken = tokens.tokenFor('com.example.Removed');
    tokens.revoke('com.example.Removed');
    const revoked = await runComponent('connect', ipcEnvironment(server.socketPath, revokedToken));
    assert.equal(revoked.get('connect')!.error?.type, 'HandshakeError');
    assert.equal(host.calls.length, 0, 'no operation reached the host');
    // Components may run as other users: the token, not the file mode, guards the socket.
    assert.equal(statSync(server.socketPath).mode & 0o777, 0o666);
  });

  it('serves configuration, component updates, validation and state to a component', async () => {
    const steps = await runComponent('component', ipcEnvironment(server.socketPath, tokens.tokenFor(COMPONENT)), (line) => {
      if (line.step === 'ready for stream end') host.componentUpdateSubscribers[0]!.close();
    });
    const result = (step: string) => {
      const line = steps.get(step);
      assert.ok(line, `step "${step}" ran`);
      assert.equal(line.error, undefined, `step "${step}" failed: ${JSON.stringify(line.error)}`);
      return line.result;
    };
    const error = (step: string) => {
      const line = steps.get(step);
      assert.ok(line?.error, `step "${step}" should fail, got ${JSON.stringify(line)}`);
      return line.error;
    };

    // GetConfiguration: the whole configuration, a leaf (answered as { key: value }), another component's.
    assert.deepEqual(result('get own configuration'), { componentName: COMPONENT, value: { mqtt: { port: 8883 }, greeting: 'hi' } });
    assert.deepEqual(result('get own leaf'), { componentName: COMPONENT, value: { port: 8883 } });
    assert.deepEqual(result("get other component's configuration"), { componentName: 'com.example.Other', value: { greeting: 'hello' } });
    const missing = error('get unknown component');
    assert.equal(missing.type, 'ServiceError');
    assert.equal(missing.serviceError.resourceType, 'Component');
    assert.equal(missing.serviceError.resourceName, 'com.example.Missing');
    assert.equal(missing.serviceError._errorCode, 'ResourceNotFoundError');

    // UpdateConfiguration, its event to the subscriber, and the value read back.
    assert.deepEqual(result('update configuration'), {});
    assert.deepEqual(result('configuration update event'), { configurationUpdateEvent: { componentName: COMPONENT, keyPath: ['mqtt', 'port'] } });
    assert.deepEqual(result('get updated leaf'), { componentName: COMPONENT, value: { port: 8884 } });
    const stale = error('update with an old timestamp');
    assert.equal(stale.type, 'ServiceError');
    assert.equal(stale.serviceError._errorCode, 'FailedUpdateConditionCheckError');
    assert.deepEqual(host.configuration.get(COMPONENT)!.mqtt, { port: 8884 });
    const update = host.calls.find((c) => c.operation === 'UpdateConfiguration')!;
    assert.equal(update.caller, COMPONENT);
    assert.deepEqual((update.request as UpdateConfigurationRequest).keyPath, ['mqtt']);
    assert.ok(Math.abs((update.request as UpdateConfigurationRequest).timestamp.getTime() - Date.now()) < 60_000);

    // Component updates: the pre-update event, answered with a deferral.
    assert.deepEqual(result('pre-update event'), { preUpdateEvent: { deploymentId: 'deployment-1', isGgcRestarting: false } });
    assert.deepEqual(result('defer update'), {});
    assert.deepEqual(host.calls.find((c) => c.operation === 'DeferComponentUpdate'), {
      operation: 'DeferComponentUpdate',
      caller: COMPONENT,
      request: { deploymentId: 'deployment-1', message: 'busy finishing a batch', recheckAfterMs: 60000 },
    });

    // Validation: the event, answered with REJECTED.
    assert.deepEqual(result('validate event'), { validateConfigurationUpdateEvent: { deploymentId: 'job-7', configuration: { mqtt: { port: 9999 } } } });
    assert.deepEqual(host.calls.find((c) => c.operation === 'SendConfigurationValidityReport'), {
      operation: 'SendConfigurationValidityReport',
      caller: COMPONENT,
      request: { status: 'REJECTED', deploymentId: 'job-7', message: 'port must stay below 9000' },
    });

    assert.deepEqual(result('update state'), {});
    assert.deepEqual(host.calls.find((c) => c.operation === 'UpdateState'), { operation: 'UpdateState', caller: COMPONENT, request: 'RUNNING' });

    // An operation meadow does not serve: the nucleus's unmodelled error, which the SDK reports as such.
    const unsupported = error('unsupported operation');
    assert.equal(unsupported.type, 'InternalError');
    assert.equal(unsupported.serviceError, undefined);

    // The agent ended the component-updates stream; the client saw it end, after exactly the one event.
    assert.equal(result('component updates stream ended'), 'ended');
    assert.deepEqual(result('component update events'), [{ preUpdateEvent: { deploymentId: 'deployment-1', isGgcRestarting: false } }]);
    assert.ok(steps.has('done'));

    // Every subscription was released: by the client (configuration, validation), by the agent (component updates).
    await waitFor(() => host.closedSubscriptions.length === 3);
    assert.deepEqual([...host.closedSubscriptions].sort(), [
      'SubscribeToComponentUpdates',
      'SubscribeToConfigurationUpdate',
      'SubscribeToValidateConfigurationUpdates',
    ]);
    assert.ok(host.calls.every((c) => c.caller === COMPONENT));
    assert.deepEqual(errors, []);
  });

  it('answers pings and refuses streams before Connect with a protocol error', async () => {
    const callsBefore = host.calls.length;
    const client = rawClient(server.socketPath);
    client.send(0, 2, { 'x-echo': stringHeader('1') }, 'hello');
    const pong = await client.next();
    assert.deepEqual(pong.headers, { 'x-echo': '1', ':message-type': 3, ':message-flags': 0, ':stream-id': 0 });
    assert.equal(pong.payload, 'hello');
    client.send(1, 0, { operation: stringHeader('aws.greengrass#UpdateState') }, '{"state":"RUNNING"}');
    assert.equal((await client.next()).headers[':message-type'], 6);
    await client.closed;
    assert.equal(host.calls.length, callsBefore, 'the unauthenticated request did not reach the host');
  });

  it("refuses a request the SDK's own checks would have stopped, naming the member", async () => {
    const callsBefore = host.calls.length;
    const client = rawClient(server.socketPath);
    client.send(0, 4, { ':version': stringHeader('0.1.0') }, JSON.stringify({ authToken: tokens.tokenFor(COMPONENT) }));
    assert.equal((await client.next()).headers[':message-flags'], 1);
    client.send(1, 0, { operation: stringHeader('aws.greengrass#DeferComponentUpdate') }, JSON.stringify({ deploymentId: 'd', recheckAfterMs: -5 }));
    const refused = await client.next();
    assert.equal(refused.headers[':message-type'], 1);
    assert.equal(refused.headers[':message-flags'], 2);
    assert.equal(refused.headers[':stream-id'], 1);
    assert.equal(refused.headers['service-model-type'], 'aws.greengrass#InvalidArgumentsError');
    assert.match(JSON.parse(refused.payload).message, /recheckAfterMs/);
    // UpdateState models no InvalidArgumentsError: the same kind of mistake is a ServiceError there.
    client.send(2, 0, { operation: stringHeader('aws.greengrass#UpdateState') }, JSON.stringify({ state: 'SLEEPING' }));
    const serviceError = await client.next();
    assert.equal(serviceError.headers['service-model-type'], 'aws.greengrass#ServiceError');
    assert.match(JSON.parse(serviceError.payload).message, /state must be one of RUNNING, ERRORED/);
    assert.equal(host.calls.length, callsBefore);
    // A corrupt frame ends the connection with a protocol error.
    const frame = encodeMessage({ headers: { ':message-type': int32Header(2), ':message-flags': int32Header(0), ':stream-id': int32Header(0) }, payload: Buffer.from('x') });
    frame[frame.length - 1]! ^= 0xff;
    client.socket.write(frame);
    assert.equal((await client.next()).headers[':message-type'], 6);
    await client.closed;
  });
});

/** A bare event-stream client on the socket, for what the SDK client never sends. */
function rawClient(socketPath: string) {
  const socket = createConnection(socketPath);
  const decoder = new MessageDecoder();
  const inbox: Array<{ headers: Record<string, unknown>; payload: string }> = [];
  const waiting: Array<() => void> = [];
  socket.on('data', (chunk) => {
    for (const m of decoder.push(chunk)) {
      inbox.push({ headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v.value])), payload: m.payload.toString('utf8') });
      waiting.shift()?.();
    }
  });
  return {
    socket,
    closed: new Promise<void>((resolve) => socket.on('close', () => resolve())),
    send(streamId: number, type: number, headers: Headers, payload = '') {
      const all = { ...headers, ':message-type': int32Header(type), ':message-flags': int32Header(0), ':stream-id': int32Header(streamId) };
      socket.write(encodeMessage({ headers: all, payload: Buffer.from(payload) }));
    },
    async next() {
      if (inbox.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
      return inbox.shift()!;
    },
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
