// The topics a device may use, and the IoT Jobs MQTT API's request topics (IoT `jobs-mqtt-api`), in their plain form
// and in the Greengrass namespace form the nucleus uses (`.../jobs/$next/namespace-aws-gg-deployment/get`).
import { GREENGRASS_JOB_NAMESPACE } from '../../engine/jobs.js';

export const NAMESPACE_SEGMENT = `namespace-${GREENGRASS_JOB_NAMESPACE}`;

/** Everything a thing may publish or subscribe to lies under this prefix (its own reserved topics). */
export const thingTopicPrefix = (thingName: string) => `$aws/things/${thingName}/`;

/**
 * Whether a thing may use a topic or topic filter: only its own `$aws/things/<thing>/...` topics. A filter's wildcards
 * are allowed after the prefix only (so `$aws/things/+/...` or `#` are refused), which keeps every match inside it.
 */
export function isOwnTopic(thingName: string, topic: string): boolean {
  const prefix = thingTopicPrefix(thingName);
  return topic.startsWith(prefix) && topic.length > prefix.length;
}

export type JobsRequest =
  | { kind: 'getPending' }
  | { kind: 'startNext' }
  | { kind: 'describe'; jobId: string }
  | { kind: 'update'; jobId: string };

/**
 * The jobs API request a device published, or undefined when the topic is not one (a reply topic, a notification
 * topic, something else). Topics after `$aws/things/<thing>/jobs/`:
 *   get | start-next | <jobId or $next>/get | <jobId>/update, each also with `namespace-aws-gg-deployment` before
 *   the verb.
 */
export function parseJobsRequest(thingName: string, topic: string): JobsRequest | undefined {
  const prefix = `${thingTopicPrefix(thingName)}jobs/`;
  if (!topic.startsWith(prefix)) return undefined;
  const parts = topic.slice(prefix.length).split('/');
  if (parts.length >= 2 && parts[parts.length - 2] === NAMESPACE_SEGMENT) parts.splice(parts.length - 2, 1);
  if (parts.length === 1 && parts[0] === 'get') return { kind: 'getPending' };
  if (parts.length === 1 && parts[0] === 'start-next') return { kind: 'startNext' };
  if (parts.length === 2 && parts[0] !== '' && parts[0] !== NAMESPACE_SEGMENT) {
    if (parts[1] === 'get') return { kind: 'describe', jobId: parts[0] };
    if (parts[1] === 'update' && parts[0] !== '$next') return { kind: 'update', jobId: parts[0] };
  }
  return undefined;
}

/** Notification topics: the list and the next execution, plain and namespaced. */
export function notifyTopics(thingName: string) {
  const jobs = `${thingTopicPrefix(thingName)}jobs/`;
  return {
    list: [`${jobs}notify`, `${jobs}notify-${NAMESPACE_SEGMENT}`],
    next: [`${jobs}notify-next`, `${jobs}notify-next-${NAMESPACE_SEGMENT}`],
  };
}
