// The devices' broker under a fan-out: a deployment to a large group makes meadow publish tens of thousands of
// notifications at once, many to topics nobody subscribed to (plain `notify`, `notify-next`), which aedes completes
// synchronously. aedes (mqemitter) queues what exceeds its delivery concurrency and drains the queue by recursion,
// so with the default concurrency (100) such a fan-out overflowed the stack and crashed the server (found by
// bench/fleet.ts with 10,000 devices).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBroker } from '../src/devices/mqtt/aedes-adapter.js';

describe('MQTT broker fan-out', () => {
  it('publishes 50,000 notifications at once while deliveries are in flight, without overflowing the stack', { timeout: 30_000 }, async () => {
    const broker = await createBroker({
      admit: async () => ({ ok: false, returnCode: 5, reason: 'no clients in this test' }),
      mayPublish: () => false,
      maySubscribe: () => false,
      onPublish: async () => undefined,
      onRefused: () => undefined,
    });
    try {
      // A subscriber that takes its time, as a delivery to a TLS client does, keeps the first deliveries in flight.
      await new Promise<void>((resolve) => broker.aedes.subscribe('slow/+', (_packet, done) => setTimeout(done, 20), resolve));
      const published = [
        ...Array.from({ length: 200 }, (_, i) => broker.publish(`slow/${i}`, {})),
        ...Array.from({ length: 50_000 }, (_, i) => broker.publish(`$aws/things/t-${i}/jobs/notify`, { jobs: {} })),
      ];
      assert.equal((await Promise.allSettled(published)).filter((r) => r.status === 'rejected').length, 0);
    } finally {
      await broker.close();
    }
  });
});
