// Status messages go out through a durable outbox, as the nucleus's DeploymentStatusKeeper keeps its updates (semantics
// §2.2): a message is first appended to the agent's state (in the same atomic commit as the state change it reports,
// when there is one), then sent in order whenever the agent is connected. An accepted message is removed; a rejected
// one is dropped too (the nucleus does not retry an update the cloud refused, e.g. for a job already terminal or
// cancelled); while offline the message stays, and the rest wait behind it so order is kept.
import type { FleetStatusInput, ComponentState } from '../../core/fleet-status/index.js';
import type { AgentState, OutboxEntry } from '../state/documents.js';
import type { StateStore } from '../state/state-store.js';
import { fleetStatusMessages, type StatusMessage } from './messages.js';

/**
 * Publishes one message and waits for its outcome: `accepted` (the reply topic's accepted, or the PUBACK of a
 * message that has no reply), `rejected` (the reply topic's rejected), `offline` (not connected, or the connection
 * went down before an outcome: the message is sent again later).
 */
export interface StatusTransport {
  publishAndWait(topic: string, payload: string): Promise<'accepted' | 'rejected' | 'offline'>;
}

export interface OutboxEvents {
  /** The cloud refused a message; it has been dropped. */
  onRejected?(entry: OutboxEntry): void;
  /** The transport threw; the message stays queued as if offline. */
  onError?(entry: OutboxEntry, error: unknown): void;
}

/** What to append, worked out from the state as committed, and state changes to commit with it. */
export type OutboxAppend = (state: AgentState) => { messages: StatusMessage[]; commit?: Partial<AgentState> };

export class Outbox {
  /** The send pass running now, and the one queued behind it. */
  private running: Promise<'empty' | 'offline'> | undefined;
  private next: Promise<'empty' | 'offline'> | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly transport: StatusTransport,
    private readonly events: OutboxEvents = {},
  ) {}

  /**
   * Appends messages durably, with `commit` in the same atomic commit (or both worked out by an OutboxAppend from
   * the committed state), then starts sending without waiting for it (see flush). Resolves once the messages are on
   * disk.
   */
  async enqueue(messages: StatusMessage[] | OutboxAppend, commit: Partial<AgentState> = {}): Promise<void> {
    const append: OutboxAppend = typeof messages === 'function' ? messages : () => ({ messages, commit });
    await this.store.commit((state) => {
      const { messages: added, commit: alsoCommit = {} } = append(state);
      let id = state.outbox.reduce((max, e) => Math.max(max, e.id), 0);
      return { ...alsoCommit, outbox: [...state.outbox, ...added.map((m) => ({ id: ++id, topic: m.topic, payload: m.payload }))] };
    });
    void this.flush();
  }

  /**
   * A fleet-status message with the next sequence number, which is committed with it (so numbers never repeat, even
   * across a restart). `allComponents` decides overallDeviceStatus when `input.components` lists only some.
   */
  enqueueFleetStatus(input: Omit<FleetStatusInput, 'sequenceNumber'>, allComponents?: readonly ComponentState[]): Promise<void> {
    return this.enqueue((state) => {
      const sequenceNumber = state.fleetStatusSequence + 1;
      return { messages: fleetStatusMessages({ ...input, sequenceNumber }, allComponents), commit: { fleetStatusSequence: sequenceNumber } };
    });
  }

  /** The messages not sent yet, oldest first. */
  pending(): OutboxEntry[] {
    return this.store.get('outbox');
  }

  /**
   * Sends queued messages in order until none is left (`empty`) or the transport is offline (`offline`; call again
   * on reconnect). The answer is always that of a pass that started after the call: while a pass runs, one more is
   * queued behind it (and shared by every call made meanwhile), so a flush on reconnect never reports the outcome of
   * a pass that saw the connection down.
   */
  flush(): Promise<'empty' | 'offline'> {
    if (!this.running) {
      this.running = this.sendAll().finally(() => (this.running = undefined));
      return this.running;
    }
    this.next ??= this.running.then(() => {
      this.next = undefined;
      return this.flush();
    });
    return this.next;
  }

  /** Resolves when no send pass runs (the agent's stop waits for it, so no commit lands after the agent stopped). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  private async sendAll(): Promise<'empty' | 'offline'> {
    for (;;) {
      const [entry] = this.store.get('outbox');
      if (!entry) return 'empty';
      let outcome: 'accepted' | 'rejected' | 'offline';
      try {
        outcome = await this.transport.publishAndWait(entry.topic, entry.payload);
      } catch (e) {
        this.events.onError?.(entry, e);
        return 'offline';
      }
      if (outcome === 'offline') return 'offline';
      await this.store.commit((state) => ({ outbox: state.outbox.filter((e) => e.id !== entry.id) }));
      if (outcome === 'rejected') this.events.onRejected?.(entry);
    }
  }
}
