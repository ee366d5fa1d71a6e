// The outbox's transport over MQTT (reporting/outbox.ts StatusTransport): a job execution update or a shadow update
// waits for its `/accepted` or `/rejected` reply, matched by a clientToken added here; a fleet-status message (no
// reply topic) counts as accepted on its PUBACK. Not connected, the connection lost before an answer, or no answer
// within the timeout: `offline`, and the outbox sends the message again later. The reply topics must be subscribed
// (the jobs client and the shadow client do it).
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { StatusTransport } from '../reporting/outbox.js';

export class MqttStatusTransport implements StatusTransport {
  constructor(
    private readonly mqtt: MqttClient,
    private readonly replyTimeoutMs = 30_000,
  ) {}

  publishAndWait(topic: string, payload: string): Promise<'accepted' | 'rejected' | 'offline'> {
    if (!this.mqtt.connected) return Promise.resolve('offline');
    if (!topic.endsWith('/update')) {
      return new Promise((resolve) => this.mqtt.publish(topic, payload, { qos: 1 }, (err) => resolve(err ? 'offline' : 'accepted')));
    }
    const clientToken = randomUUID();
    const body = { ...(JSON.parse(payload) as Record<string, unknown>), clientToken };
    const accepted = `${topic}/accepted`;
    const rejected = `${topic}/rejected`;
    return new Promise((resolve) => {
      const finish = (outcome: 'accepted' | 'rejected' | 'offline') => {
        clearTimeout(timer);
        this.mqtt.off('message', onMessage);
        this.mqtt.off('close', onClose);
        resolve(outcome);
      };
      const onMessage = (t: string, raw: Buffer) => {
        if (t !== accepted && t !== rejected) return;
        try {
          if ((JSON.parse(raw.toString()) as { clientToken?: string }).clientToken !== clientToken) return;
        } catch {
          return;
        }
        finish(t === accepted ? 'accepted' : 'rejected');
      };
      const onClose = () => finish('offline');
      const timer = setTimeout(() => finish('offline'), this.replyTimeoutMs);
      this.mqtt.on('message', onMessage);
      this.mqtt.on('close', onClose);
      this.mqtt.publish(topic, JSON.stringify(body), { qos: 1 }, (err) => {
        if (err) finish('offline');
      });
    });
  }
}
