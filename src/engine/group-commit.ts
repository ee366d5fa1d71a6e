// Group commit: requests for one key (a job) that arrive while its previous batch is being applied wait and go
// together in the next batch, one transaction for all of them. Under load a thousand devices' status updates cost
// one job lock and one commit instead of a thousand; a lone request waits only for the current event-loop turn.
/** Requests in one batch at most (also keeps IN lists short). */
const MAX_BATCH = 500;

interface Waiting<Item, Outcome> {
  item: Item;
  resolve(outcome: Outcome): void;
  reject(err: unknown): void;
}

export class GroupCommit<Item, Outcome> {
  private readonly queues = new Map<string, Waiting<Item, Outcome>[]>();
  private readonly running = new Set<string>();

  /** `apply` handles a batch in order and returns one outcome per item; it throws only when the batch as a whole failed. */
  constructor(private readonly apply: (items: Item[]) => Promise<Outcome[]>) {}

  submit(key: string, item: Item): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(key);
      if (queue) queue.push({ item, resolve, reject });
      else this.queues.set(key, [{ item, resolve, reject }]);
      if (!this.running.has(key)) this.schedule(key);
    });
  }

  private schedule(key: string): void {
    this.running.add(key);
    // After the current turn of the event loop, so that requests read from other sockets in it join the batch.
    setImmediate(() => void this.drain(key));
  }

  private async drain(key: string): Promise<void> {
    const queue = this.queues.get(key) ?? [];
    const batch = queue.splice(0, MAX_BATCH);
    if (queue.length === 0) this.queues.delete(key);
    await this.run(batch);
    if (this.queues.has(key)) this.schedule(key);
    else this.running.delete(key);
  }

  private async run(batch: Waiting<Item, Outcome>[]): Promise<void> {
    try {
      const outcomes = await this.apply(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(outcomes[i]));
    } catch (err) {
      // One request's unexpected failure must not fail the others: a batch that failed is tried one by one.
      if (batch.length === 1) return batch[0].reject(err);
      for (const w of batch) await this.run([w]);
    }
  }
}
