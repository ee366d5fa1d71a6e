// The Device Shadow MQTT API (IOTDOC `device-shadow-mqtt`) on a thing's own topics:
//   $aws/things/<thing>/shadow[/name/<shadowName>]/{get,update,delete}
// with replies on `<request>/accepted` or `<request>/rejected` (`{code, message, timestamp, clientToken}`), and
// `update/delta` and `update/documents` after an accepted update. The rules are src/core/shadow's; the engine's
// device-side functions (src/engine/device-shadows.ts) apply them. Accepted updates and deletes are published from
// the committed change (shadow-events.ts), so a change meadow makes itself reaches the device the same way.
import type { Clock } from '../../core/clock.js';
import { errorPayload, SHADOW_NAME_PATTERN, ShadowError } from '../../core/shadow/index.js';
import { deleteForDevice, getForDevice, updateForDevice } from '../../engine/device-shadows.js';
import type { ShadowChanged } from '../../engine/shadow-events.js';
import { CLASSIC_SHADOW, type ShadowRef } from '../../engine/shadows.js';
import type { Scope, Store } from '../../store/store.js';
import { thingTopicPrefix } from './topics.js';

type Publish = (topic: string, payload: object) => Promise<void>;

export interface ShadowApiDeps {
  store: Store;
  scope: Scope;
  clock: Clock;
  publish: Publish;
}

type Operation = 'get' | 'update' | 'delete';

interface ShadowRequestTopic {
  shadowName: string;
  operation: Operation;
  /** Set when the topic names a shadow that cannot exist: the request is refused with this. */
  invalid?: ShadowError;
}

/** The shadow topics' prefix: `$aws/things/<thing>/shadow/` or `.../shadow/name/<name>/`. */
export const shadowTopicPrefix = (thingName: string, shadowName: string) =>
  `${thingTopicPrefix(thingName)}shadow/${shadowName === CLASSIC_SHADOW ? '' : `name/${shadowName}/`}`;

/** The shadow request a thing published, or undefined when the topic is not one (a reply topic, something else). */
export function parseShadowRequestTopic(thingName: string, topic: string): ShadowRequestTopic | undefined {
  const prefix = `${thingTopicPrefix(thingName)}shadow/`;
  if (!topic.startsWith(prefix)) return undefined;
  const parts = topic.slice(prefix.length).split('/');
  const operation = parts[parts.length - 1];
  if (operation !== 'get' && operation !== 'update' && operation !== 'delete') return undefined;
  if (parts.length === 1) return { shadowName: CLASSIC_SHADOW, operation };
  if (parts.length !== 3 || parts[0] !== 'name') return undefined;
  const shadowName = parts[1];
  const invalid = SHADOW_NAME_PATTERN.test(shadowName)
    ? undefined
    : new ShadowError(400, `Invalid shadow name: a shadow name is 1 to 64 characters of a-z, A-Z, 0-9, ':', '_' and '-'.`);
  return { shadowName, operation, invalid };
}

export class MqttShadowApi {
  /** Messages to one thing go out one after another, in the order of the changes. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly deps: ShadowApiDeps) {}

  /** Serves a thing's publish if it is a shadow request; true when it was one. */
  async handle(thingName: string, topic: string, raw: Buffer): Promise<boolean> {
    const request = parseShadowRequestTopic(thingName, topic);
    if (!request) return false;
    const { store, scope, clock } = this.deps;
    const ref: ShadowRef = { thingName, shadowName: request.shadowName };
    try {
      if (request.invalid) throw request.invalid;
      switch (request.operation) {
        case 'get':
          await this.send(thingName, `${topic}/accepted`, await getForDevice(store, scope, clock.now(), ref, raw));
          break;
        // The accepted replies of update and delete go out from the committed change (published).
        case 'update':
          await updateForDevice(store, scope, clock.now(), ref, raw);
          break;
        case 'delete':
          await deleteForDevice(store, scope, clock.now(), ref, raw);
          break;
      }
    } catch (e) {
      await this.send(thingName, `${topic}/rejected`, errorPayload(e, clock.now(), clientTokenOf(raw)));
      if (!(e instanceof ShadowError)) throw e; // meadow's own fault: the broker logs it
    }
    return true;
  }

  /** Publishes the messages of a committed shadow change on the thing's shadow topics. */
  published(change: ShadowChanged): Promise<void> {
    const prefix = shadowTopicPrefix(change.thingName, change.shadowName);
    return this.enqueue(change.thingName, async () => {
      for (const m of change.messages) await this.deps.publish(`${prefix}${m.topic}`, m.payload);
    });
  }

  private send(thingName: string, topic: string, payload: object): Promise<void> {
    return this.enqueue(thingName, () => this.deps.publish(topic, payload));
  }

  private enqueue(thingName: string, work: () => Promise<void>): Promise<void> {
    const run = (this.queues.get(thingName) ?? Promise.resolve()).then(work);
    const settled = run.catch(() => undefined);
    this.queues.set(thingName, settled);
    void settled.then(() => {
      if (this.queues.get(thingName) === settled) this.queues.delete(thingName);
    });
    return run;
  }
}

/** The request's clientToken for a rejection, when the payload is JSON carrying a string one. */
function clientTokenOf(raw: Buffer): string | undefined {
  try {
    const body = JSON.parse(raw.toString('utf8')) as { clientToken?: unknown };
    return typeof body?.clientToken === 'string' && Buffer.byteLength(body.clientToken) <= 64 ? body.clientToken : undefined;
  } catch {
    return undefined;
  }
}
