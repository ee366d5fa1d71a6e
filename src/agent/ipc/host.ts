// What the agent implements for the IPC server: one method per Greengrass IPC operation meadow serves, each told
// which component called (the one whose SVCUID opened the connection). The server has already checked the
// request's shape and filled the defaults the nucleus fills (componentName = the caller, keyPath = [],
// recheckAfterMs = 0).
//
// Errors: throw MeadowErrors (src/core/errors.ts). The server sends the operation's modelled error shape:
//   NotFound          -> ResourceNotFoundError (resourceType / resourceName from the error's details)
//   Invalid           -> InvalidArgumentsError
//   Conflict          -> ConflictError
//   VersionConflict   -> FailedUpdateConditionCheckError (UpdateConfiguration: a timestamp older than the value's)
//   details.errorShape = 'UnauthorizedError' (or any shape the operation models) -> that shape
// and ServiceError for anything the operation does not model, or for an error that is not a MeadowError.

export type ReportedLifecycleState = 'RUNNING' | 'ERRORED';

export interface GetConfigurationRequest {
  componentName: string;
  keyPath: string[];
}

/**
 * The configuration node a key path names. `name` is the node's own key as stored (the nucleus answers a leaf
 * as `{ <name>: value }` and a container as its object); ignored for containers and for the root.
 */
export interface ConfigurationNode {
  name: string;
  value: unknown;
}

export interface UpdateConfigurationRequest {
  keyPath: string[];
  /** When the component made the change; the nucleus refuses a write older than the value it would replace. */
  timestamp: Date;
  valueToMerge: unknown;
}

export interface SubscribeToConfigurationUpdateRequest {
  componentName: string;
  keyPath: string[];
}

export interface ConfigurationUpdateEvent {
  componentName: string;
  keyPath: string[];
}

export interface PreComponentUpdateEvent {
  deploymentId: string;
  isGgcRestarting: boolean;
}

export interface PostComponentUpdateEvent {
  deploymentId: string;
}

/** One event of SubscribeToComponentUpdates: exactly one member is set. */
export type ComponentUpdatePolicyEvent = { preUpdateEvent: PreComponentUpdateEvent } | { postUpdateEvent: PostComponentUpdateEvent };

export interface DeferComponentUpdateRequest {
  deploymentId: string;
  message?: string;
  /** 0 means "go ahead"; more asks the agent to notify again after that many milliseconds. */
  recheckAfterMs: number;
}

export interface ValidateConfigurationUpdateEvent {
  deploymentId: string;
  configuration?: unknown;
}

export type ConfigurationValidityStatus = 'ACCEPTED' | 'REJECTED';

export interface ConfigurationValidityReport {
  status: ConfigurationValidityStatus;
  deploymentId: string;
  message?: string;
}

/** The server side of one subscription's event stream, handed to the host. */
export interface IpcEventStream<Event> {
  /** Sends one event to the subscriber (dropped once the stream is closed). */
  send(event: Event): void;
  /** Ends the stream from the agent's side; the client's subscription sees it end. */
  close(): void;
  readonly closed: boolean;
}

/** What the host returns for a subscription: `close` runs once when the stream ends, whoever ended it. */
export interface IpcSubscription {
  close(): void;
}

type MaybePromise<T> = T | Promise<T>;

export interface IpcHost {
  updateState(caller: string, state: ReportedLifecycleState): MaybePromise<void>;
  getConfiguration(caller: string, request: GetConfigurationRequest): MaybePromise<ConfigurationNode>;
  updateConfiguration(caller: string, request: UpdateConfigurationRequest): MaybePromise<void>;
  subscribeToConfigurationUpdate(
    caller: string,
    request: SubscribeToConfigurationUpdateRequest,
    events: IpcEventStream<ConfigurationUpdateEvent>,
  ): MaybePromise<IpcSubscription>;
  subscribeToComponentUpdates(caller: string, events: IpcEventStream<ComponentUpdatePolicyEvent>): MaybePromise<IpcSubscription>;
  deferComponentUpdate(caller: string, request: DeferComponentUpdateRequest): MaybePromise<void>;
  subscribeToValidateConfigurationUpdates(
    caller: string,
    events: IpcEventStream<ValidateConfigurationUpdateEvent>,
  ): MaybePromise<IpcSubscription>;
  sendConfigurationValidityReport(caller: string, report: ConfigurationValidityReport): MaybePromise<void>;
}
