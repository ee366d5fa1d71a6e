// The Greengrass IPC service (aws.greengrass#GreengrassCoreIPC) on the event-stream RPC layer: the operations
// meadow serves, their JSON request checks, their responses and event streams, and their modelled errors —
// matching what the nucleus sends, so the SDK's generated client deserializes every answer:
//   response   ApplicationMessage, `service-model-type: aws.greengrass#<Op>Response`, `:content-type:
//              application/json`, TERMINATE_STREAM unless the operation streams events
//   event      ApplicationMessage, `service-model-type` = the operation's event shape, stream stays open
//   error      ApplicationError, `service-model-type: aws.greengrass#<Error>`, TERMINATE_STREAM; the body has the
//              modelled members plus the nucleus's `_service`, `_message` and `_errorCode`
//   unknown    ApplicationError without a shape: the SDK reports it as an error that is not a modelled shape
import { MeadowError } from '../../core/errors.js';
import { stringHeader, type Headers } from './framing.js';
import type {
  ComponentUpdatePolicyEvent,
  ConfigurationNode,
  ConfigurationUpdateEvent,
  ConfigurationValidityStatus,
  IpcEventStream,
  IpcHost,
  IpcSubscription,
  ReportedLifecycleState,
  ValidateConfigurationUpdateEvent,
} from './host.js';
import { HEADER, MessageType, type RpcStream, type StreamHandler } from './rpc-connection.js';

const NAMESPACE = 'aws.greengrass#';
const SERVICE_NAME = `${NAMESPACE}GreengrassCoreIPC`;
const SERVICE_MODEL_TYPE = 'service-model-type';
const JSON_CONTENT_TYPE = stringHeader('application/json');

type ErrorShape =
  | 'ServiceError'
  | 'ResourceNotFoundError'
  | 'InvalidArgumentsError'
  | 'UnauthorizedError'
  | 'ConflictError'
  | 'FailedUpdateConditionCheckError';

type Json = Record<string, unknown>;

interface Operation {
  /** Error shapes the SDK's model lists for the operation; any other error goes out as ServiceError. */
  errors: readonly ErrorShape[];
  /** The event shape, for operations that stream events to the component. */
  eventShape?: string;
  /** Request-response: checks the request, calls the host, returns the response body. */
  call?(host: IpcHost, caller: string, request: Json): Promise<Json>;
  /** Streaming: checks the request and subscribes; events flow once the (empty) response is out. */
  subscribe?(host: IpcHost, caller: string, request: Json, events: IpcEventStream<never>): Promise<IpcSubscription>;
}

// ---- request checks: a bad request gets an error naming the member --------------------------------------------

function badMember(member: string, rule: string): MeadowError {
  return new MeadowError('Invalid', `${member} ${rule}`, { fields: [{ name: member, message: `${member} ${rule}` }] });
}

function requiredString(request: Json, member: string): string {
  const value = request[member];
  if (typeof value !== 'string' || value.length === 0) throw badMember(member, 'is required and must be a non-empty string.');
  return value;
}

function optionalString(request: Json, member: string): string | undefined {
  const value = request[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badMember(member, 'must be a string.');
  return value;
}

function keyPathOf(request: Json, member = 'keyPath'): string[] {
  const value = request[member];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((segment) => typeof segment === 'string')) {
    throw badMember(member, 'must be a list of strings.');
  }
  return value;
}

function oneOf<T extends string>(request: Json, member: string, allowed: readonly T[]): T {
  const value = request[member];
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw badMember(member, `must be one of ${allowed.join(', ')}.`);
  return value as T;
}

function objectMember(request: Json, member: string): Json {
  const value = request[member];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badMember(member, 'is required and must be an object.');
  return value as Json;
}

const isPlainObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The nucleus answers a container node with its object and a leaf with `{ <its key>: value }`. */
function configurationValue(node: ConfigurationNode): unknown {
  return isPlainObject(node.value) ? node.value : { [node.name]: node.value };
}

// ---- the operations ------------------------------------------------------------------------------------------

const OPERATIONS: Record<string, Operation> = {
  UpdateState: {
    errors: ['ServiceError', 'ResourceNotFoundError'],
    async call(host, caller, request) {
      await host.updateState(caller, oneOf<ReportedLifecycleState>(request, 'state', ['RUNNING', 'ERRORED']));
      return {};
    },
  },
  GetConfiguration: {
    errors: ['ServiceError', 'ResourceNotFoundError'],
    async call(host, caller, request) {
      const componentName = optionalString(request, 'componentName') || caller;
      const node = await host.getConfiguration(caller, { componentName, keyPath: keyPathOf(request) });
      return { componentName, value: configurationValue(node) };
    },
  },
  UpdateConfiguration: {
    errors: ['ServiceError', 'UnauthorizedError', 'ConflictError', 'FailedUpdateConditionCheckError', 'InvalidArgumentsError'],
    async call(host, caller, request) {
      const seconds = request.timestamp;
      if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw badMember('timestamp', 'is required (seconds since the epoch).');
      if (!('valueToMerge' in request) || request.valueToMerge === null) throw badMember('valueToMerge', 'is required.');
      await host.updateConfiguration(caller, {
        keyPath: keyPathOf(request),
        timestamp: new Date(Math.round(seconds * 1000)),
        valueToMerge: request.valueToMerge,
      });
      return {};
    },
  },
  SubscribeToConfigurationUpdate: {
    errors: ['ServiceError', 'ResourceNotFoundError'],
    eventShape: 'ConfigurationUpdateEvents',
    async subscribe(host, caller, request, events) {
      const componentName = optionalString(request, 'componentName') || caller;
      return host.subscribeToConfigurationUpdate(caller, { componentName, keyPath: keyPathOf(request) }, events);
    },
  },
  SubscribeToComponentUpdates: {
    errors: ['ServiceError', 'ResourceNotFoundError'],
    eventShape: 'ComponentUpdatePolicyEvents',
    async subscribe(host, caller, _request, events) {
      return host.subscribeToComponentUpdates(caller, events);
    },
  },
  DeferComponentUpdate: {
    errors: ['ServiceError', 'ResourceNotFoundError', 'InvalidArgumentsError'],
    async call(host, caller, request) {
      const recheck = request.recheckAfterMs ?? 0;
      if (typeof recheck !== 'number' || !Number.isInteger(recheck) || recheck < 0) {
        throw badMember('recheckAfterMs', 'must be a whole number of milliseconds, 0 or more.');
      }
      await host.deferComponentUpdate(caller, {
        deploymentId: requiredString(request, 'deploymentId'),
        message: optionalString(request, 'message'),
        recheckAfterMs: recheck,
      });
      return {};
    },
  },
  SubscribeToValidateConfigurationUpdates: {
    errors: ['ServiceError'],
    eventShape: 'ValidateConfigurationUpdateEvents',
    async subscribe(host, caller, _request, events) {
      return host.subscribeToValidateConfigurationUpdates(caller, events);
    },
  },
  SendConfigurationValidityReport: {
    errors: ['InvalidArgumentsError', 'ServiceError'],
    async call(host, caller, request) {
      const report = objectMember(request, 'configurationValidityReport');
      await host.sendConfigurationValidityReport(caller, {
        status: oneOf<ConfigurationValidityStatus>(report, 'status', ['ACCEPTED', 'REJECTED']),
        deploymentId: requiredString(report, 'deploymentId'),
        message: optionalString(report, 'message'),
      });
      return {};
    },
  },
};

/** Operation names as the SDK sends them in the `operation` header. */
export const SERVED_OPERATIONS = Object.keys(OPERATIONS).map((name) => NAMESPACE + name);

// Event wrappers: each event shape is a union with one member per event kind.
const wrapEvent: Record<string, (event: never) => Json> = {
  ConfigurationUpdateEvents: (event: ConfigurationUpdateEvent) => ({ configurationUpdateEvent: event }),
  ComponentUpdatePolicyEvents: (event: ComponentUpdatePolicyEvent) => ({ ...event }),
  ValidateConfigurationUpdateEvents: (event: ValidateConfigurationUpdateEvent) => ({ validateConfigurationUpdateEvent: event }),
};

// ---- errors --------------------------------------------------------------------------------------------------

const SHAPE_OF_KIND: Partial<Record<MeadowError['kind'], ErrorShape>> = {
  NotFound: 'ResourceNotFoundError',
  Invalid: 'InvalidArgumentsError',
  Conflict: 'ConflictError',
  VersionConflict: 'FailedUpdateConditionCheckError',
};

/** The modelled error (shape and body) the operation answers for an error thrown while serving it. */
export function modelledError(operation: Operation, error: unknown): { shape: ErrorShape; body: Json } {
  let shape: ErrorShape = 'ServiceError';
  let message = 'The IPC request failed with an internal error.';
  const body: Json = {};
  if (error instanceof MeadowError) {
    message = error.message;
    const wanted = (error.details.errorShape as ErrorShape | undefined) ?? SHAPE_OF_KIND[error.kind];
    if (wanted && operation.errors.includes(wanted)) shape = wanted;
    if (shape === 'ResourceNotFoundError') {
      if (error.details.resourceType) body.resourceType = error.details.resourceType;
      if (error.details.resourceId) body.resourceName = error.details.resourceId;
    }
  }
  return { shape, body: { _service: SERVICE_NAME, _message: message, _errorCode: shape, message, ...body } };
}

// ---- one operation stream ------------------------------------------------------------------------------------

function jsonMessage(shape: string, body: unknown, type: number, terminate: boolean) {
  const headers: Headers = { [HEADER.contentType]: JSON_CONTENT_TYPE, [SERVICE_MODEL_TYPE]: stringHeader(NAMESPACE + shape) };
  return { type, headers, payload: Buffer.from(JSON.stringify(body)), terminate };
}

function parseRequest(payload: Buffer): Json {
  if (payload.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new MeadowError('Invalid', 'The request payload is not valid JSON.');
  }
  if (!isPlainObject(parsed)) throw new MeadowError('Invalid', 'The request payload must be a JSON object.');
  return parsed;
}

/** The server side of a subscription's events: held back until the operation's response has been sent. */
class EventSink implements IpcEventStream<never> {
  private pending: Array<() => void> | undefined = [];

  constructor(
    private readonly stream: RpcStream,
    private readonly shape: string,
  ) {}

  get closed(): boolean {
    return this.stream.closed;
  }

  send(event: never): void {
    this.whenOpen(() => this.stream.send(jsonMessage(this.shape, wrapEvent[this.shape]!(event), MessageType.ApplicationMessage, false)));
  }

  close(): void {
    this.whenOpen(() => this.stream.send({ type: MessageType.ApplicationMessage, terminate: true }));
  }

  /** Called once the response is out: sends what the host sent meanwhile. */
  open(): void {
    const pending = this.pending ?? [];
    this.pending = undefined;
    for (const action of pending) action();
  }

  private whenOpen(action: () => void): void {
    if (this.pending) this.pending.push(action);
    else action();
  }
}

export function openOperationStream(
  host: IpcHost,
  caller: string,
  stream: RpcStream,
  onError: (error: unknown, context: string) => void,
): StreamHandler {
  const name = stream.operation.startsWith(NAMESPACE) ? stream.operation.slice(NAMESPACE.length) : undefined;
  const operation = name !== undefined && Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  let requested = false;
  let subscription: IpcSubscription | undefined;
  let ended = false;

  const closeSubscription = () => {
    const current = subscription;
    subscription = undefined;
    try {
      current?.close();
    } catch (error) {
      onError(error, `${stream.operation}: closing the subscription failed`);
    }
  };

  async function serve(payload: Buffer): Promise<void> {
    if (!operation) {
      // The nucleus's answer to an operation it does not serve: an error with no modelled shape.
      stream.send({
        type: MessageType.ApplicationError,
        headers: { [HEADER.contentType]: JSON_CONTENT_TYPE },
        payload: Buffer.from(JSON.stringify({ error: 'Unsupported Operation', message: `${stream.operation} is an unsupported operation.` })),
        terminate: true,
      });
      return;
    }
    try {
      const request = parseRequest(payload);
      if (operation.subscribe) {
        const events = new EventSink(stream, operation.eventShape!);
        const created = await operation.subscribe(host, caller, request, events);
        subscription = created;
        if (ended) {
          closeSubscription();
          return;
        }
        stream.send(jsonMessage(`${name}Response`, {}, MessageType.ApplicationMessage, false));
        events.open();
      } else {
        const response = await operation.call!(host, caller, request);
        stream.send(jsonMessage(`${name}Response`, response, MessageType.ApplicationMessage, true));
      }
    } catch (error) {
      if (!(error instanceof MeadowError)) onError(error, `${stream.operation} failed`);
      const { shape, body } = modelledError(operation, error);
      stream.send(jsonMessage(shape, body, MessageType.ApplicationError, true));
    }
  }

  return {
    onMessage(payload, _headers, terminate) {
      // The first message is the request; these operations take no further messages from the component, and a
      // TERMINATE_STREAM from it just ends the stream (onClose).
      if (requested || terminate) return;
      requested = true;
      void serve(payload);
    },
    onClose() {
      ended = true;
      closeSubscription();
    },
  };
}
