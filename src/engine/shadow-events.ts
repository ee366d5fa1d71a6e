// Which shadow messages a committed change produces: every accepted update or delete of a shadow (by a device or by
// meadow itself, e.g. CreateDeployment writing a thing's deployment shadow) is reported here after its transaction
// commits, and in-process listeners (the MQTT broker) publish the messages to the thing's shadow topics. As with
// execution-events.ts, a change made by another meadow process is not seen here.
import type { Scope, Store } from '../store/store.js';
import { committedEvents } from './committed-events.js';

export interface ShadowMessage {
  /** The topic after the shadow's prefix, e.g. `update/accepted`, `update/documents`, `update/delta`. */
  topic: string;
  payload: Record<string, unknown>;
}

export interface ShadowChanged {
  scope: Scope;
  thingName: string;
  /** '' for the classic shadow. */
  shadowName: string;
  /** In the order they are to be published. */
  messages: ShadowMessage[];
}

export type ShadowListener = (change: ShadowChanged) => void;

const events = committedEvents<ShadowChanged>();

/** Calls listener after every committed shadow change; returns the function that stops it. */
export const onShadowChanged = (listener: ShadowListener): (() => void) => events.on(listener);

/** Records, inside tx, the messages a shadow change produces; listeners get them once tx commits. */
export const shadowChanged = (tx: Store, change: ShadowChanged): void => events.emit(tx, change);
