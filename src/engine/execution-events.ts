// Which things' job executions changed: the engine reports every release, status change (device update, cancel,
// removal, timeout) and new released execution here, after its transaction commits, so that in-process listeners
// (the MQTT broker's jobs notifications) can tell the devices concerned. In-process only: a change made by another
// meadow process is not seen here; with an external broker (scale-out mode) each process notifies its own changes there.
import type { Scope, Store } from '../store/store.js';
import { committedEvents } from './committed-events.js';

export interface ExecutionsChanged {
  scope: Scope;
  thingNames: string[];
}

export type ExecutionsListener = (change: ExecutionsChanged) => void;

const events = committedEvents<ExecutionsChanged>();

/** Calls listener after every committed change; returns the function that stops it. */
export const onExecutionsChanged = (listener: ExecutionsListener): (() => void) => events.on(listener);

/** Records, inside tx, that these things' executions changed; listeners hear of it once tx commits. */
export function executionsChanged(tx: Store, scope: Scope, thingNames: string[]): void {
  if (thingNames.length === 0) return;
  events.emit(tx, { scope, thingNames: [...new Set(thingNames)] });
}
