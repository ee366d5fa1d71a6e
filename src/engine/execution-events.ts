// Which things' job executions changed: the engine reports every release, status change (device update, cancel,
// removal, timeout) and new released execution here, after its transaction commits, so that in-process listeners
// (the MQTT broker's jobs notifications) can tell the devices concerned. In-process only: a change made by another
// meadow process is not seen here (notifications across processes need an external broker; a later issue).
import type { Scope, Store } from '../store/store.js';

export interface ExecutionsChanged {
  scope: Scope;
  thingNames: string[];
}

export type ExecutionsListener = (change: ExecutionsChanged) => void;

const listeners = new Set<ExecutionsListener>();

/** Calls listener after every committed change; returns the function that stops it. */
export function onExecutionsChanged(listener: ExecutionsListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Records, inside tx, that these things' executions changed; listeners hear of it once tx commits. */
export function executionsChanged(tx: Store, scope: Scope, thingNames: string[]): void {
  if (thingNames.length === 0) return;
  const change = { scope, thingNames: [...new Set(thingNames)] };
  tx.afterCommit(() => {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own (it logs); the committed change stands and the caller must not fail.
      }
    }
  });
}
