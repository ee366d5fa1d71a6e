// An in-process channel for facts that become true only when a transaction commits: `emit` inside the transaction,
// listeners hear of it after the commit (never for a rolled-back change). In-process only: a change committed by
// another meadow process is not seen here (in scale-out mode that process publishes it to the shared broker itself).
import type { Store } from '../store/store.js';

export interface CommittedEvents<T> {
  /** Calls listener after every committed event; returns the function that stops it. */
  on(listener: (event: T) => void): () => void;
  /** Records the event inside tx; listeners get it once tx commits. */
  emit(tx: Store, event: T): void;
}

export function committedEvents<T>(): CommittedEvents<T> {
  const listeners = new Set<(event: T) => void>();
  return {
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(tx, event) {
      tx.afterCommit(() => {
        for (const listener of listeners) {
          try {
            listener(event);
          } catch {
            // A listener's failure is its own (it logs); the committed change stands and the caller must not fail.
          }
        }
      });
    },
  };
}
