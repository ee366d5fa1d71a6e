// The device side of Greengrass deployment jobs over MQTT, as the nucleus speaks it (semantics §8.3; its
// IotJobsHelper): the namespaced topics of the `aws-gg-deployment` job namespace, `$next` asked for on start, on every
// reconnect and on every notify that lists a QUEUED job, duplicates dropped by (queuedAt, jobId), and status
// updates that wait for their accepted/rejected reply. All QoS 1.
//
// Two departures from the nucleus, neither of which changes what the server does: each update carries a clientToken, so
// its reply is told apart from the reply to an earlier update sent again after a reconnect; and the update replies
// are subscribed once with a wildcard (`$aws/things/<thing>/jobs/+/namespace-aws-gg-deployment/update/accepted`)
// rather than per update, because a SUBSCRIBE made while the connection is down fails (mqtt.js), while standing
// subscriptions are renewed on every reconnect before anything is published.
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { jobExecutionUpdateTopic } from '../../core/device-topics.js';
import { GREENGRASS_JOB_NAMESPACE, type JobExecutionStatus, type StatusDetails } from '../../core/jobs/index.js';

const NS = `namespace-${GREENGRASS_JOB_NAMESPACE}`;

/** A deployment job as `$next` describes it. Times are epoch seconds, as on the wire. */
export interface DeploymentJob {
  jobId: string;
  status: JobExecutionStatus;
  queuedAt: number;
  executionNumber: number;
  versionNumber: number;
  /** The deployment's Configuration document (semantics §8.2). */
  jobDocument: Record<string, unknown>;
}

export type UpdateReply =
  | { accepted: true; body: Record<string, unknown> }
  | { accepted: false; code: string; message: string; executionState?: { status: JobExecutionStatus; versionNumber: number } };

export interface DeploymentJobsHandlers {
  /** A job to work on, offered once per (queuedAt, jobId). */
  onJob(job: DeploymentJob): void;
  /** The job offered last has left the pending list before the device finished it (canceled, removed, timed out). */
  onJobGone?(jobId: string): void;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class DeploymentJobsClient {
  private readonly topics: { jobs: string; notify: string; next: string; nextReplies: string[]; updateReplies: string[] };
  /** Dedupe as the nucleus does it: the newest queuedAt seen, and the jobs seen with it. */
  private latestQueuedAt = -1;
  private readonly seenAtLatest = new Set<string>();
  /** The job offered last that the device has not finished yet. */
  private current: string | undefined;
  /** A job the device worked on before a restart, until the first `$next` answer says whether it is still pending. */
  private confirming: { jobId: string; answer(pending: boolean): void } | undefined;
  /** `$next` requests sent and replies received (accepted or rejected): equal when every request was answered. */
  nextRequests = 0;
  nextReplies = 0;
  /** Updates go out one at a time. */
  private updates: Promise<unknown> = Promise.resolve();
  /** The update waiting for its reply, as the function that sends it again. */
  private unanswered: (() => void) | undefined;

  constructor(
    private readonly mqtt: MqttClient,
    private readonly thingName: string,
    private readonly handlers: DeploymentJobsHandlers,
  ) {
    const jobs = `$aws/things/${thingName}/jobs`;
    const next = `${jobs}/$next/${NS}/get`;
    this.topics = {
      jobs,
      notify: `${jobs}/notify-${NS}`,
      next,
      nextReplies: [`${next}/accepted`, `${next}/rejected`],
      updateReplies: [`${jobs}/+/${NS}/update/accepted`, `${jobs}/+/${NS}/update/rejected`],
    };
  }

  /** Subscribes (mqtt.js subscribes again after each reconnect) and asks for the next job. */
  async start(): Promise<void> {
    this.mqtt.on('message', this.onMessage);
    this.mqtt.on('connect', this.onReconnect);
    await this.mqtt.subscribeAsync([this.topics.notify, ...this.topics.nextReplies, ...this.topics.updateReplies], { qos: 1 });
    this.requestNext();
  }

  stop(): void {
    this.mqtt.off('message', this.onMessage);
    this.mqtt.off('connect', this.onReconnect);
  }

  /** Requests the broker had not answered went down with the old connection; ask afresh. */
  private readonly onReconnect = (): void => {
    this.nextRequests = this.nextReplies;
    this.requestNext();
  };

  /** DescribeJobExecution of `$next`, as the nucleus words it; the reply is handled by onMessage. */
  readonly requestNext = (): void => {
    const payload = JSON.stringify({ jobId: '$next', thingName: this.thingName, includeJobDocument: true });
    this.nextRequests++;
    this.mqtt.publish(this.topics.next, payload, { qos: 1 }, () => undefined); // lost ones are asked again on reconnect
  };

  /**
   * UpdateJobExecution of the job; resolves with its reply. Sent again after a reconnect until a reply comes (the
   * broker may have taken it without answering). After a final status it asks for the next job.
   */
  update(jobId: string, status: JobExecutionStatus, statusDetails: StatusDetails = {}): Promise<UpdateReply> {
    const run = this.updates.then(() => this.sendUpdate(jobId, status, statusDetails));
    this.updates = run.catch(() => undefined);
    return run;
  }

  /**
   * Asks again what may have gone unanswered: the update waiting for its reply, and `$next`. For a broker that can
   * lose a request while the connection stays up, as an external broker in front of several meadow processes does
   * when the one serving a request stops (docs/scale-out.md); duplicates are harmless (clientToken, dedupe).
   */
  retry(): void {
    this.unanswered?.();
    this.requestNext();
  }

  /**
   * The device was working on `jobId` when it stopped (its state says so) and goes on with it: the first `$next`
   * answer, which names an IN_PROGRESS execution before any QUEUED one, tells whether the job is still pending; if
   * it names another job or none, the job left while the device was away (canceled, removed, timed out) and
   * `onJobGone` is called. Resolves with that answer (true: still pending). Call before `start()`.
   */
  resumed(jobId: string): Promise<boolean> {
    this.current = jobId;
    return new Promise((answer) => (this.confirming = { jobId, answer }));
  }

  /**
   * The device has finished the job (its final status goes out another way, e.g. through the agent's outbox): a
   * notify that no longer lists it is not the job leaving early.
   */
  finished(jobId: string): void {
    if (this.current === jobId) this.current = undefined;
  }

  private async sendUpdate(jobId: string, status: JobExecutionStatus, statusDetails: StatusDetails): Promise<UpdateReply> {
    const topic = jobExecutionUpdateTopic(this.thingName, jobId);
    const replies = [`${topic}/accepted`, `${topic}/rejected`];
    const clientToken = randomUUID();
    const payload = JSON.stringify({ status, statusDetails, jobId, thingName: this.thingName, clientToken });
    const send = () => this.mqtt.publish(topic, payload, { qos: 1 }, () => undefined);
    this.unanswered = send;
    const reply = new Promise<UpdateReply>((resolve) => {
      const onReply = (t: string, raw: Buffer) => {
        if (!replies.includes(t)) return;
        const body = JSON.parse(raw.toString()) as Json;
        if (body.clientToken !== clientToken) return;
        this.mqtt.off('message', onReply);
        this.mqtt.off('connect', send);
        if (this.unanswered === send) this.unanswered = undefined;
        resolve(t === replies[0] ? { accepted: true, body } : { accepted: false, code: body.code, message: body.message, executionState: body.executionState });
      };
      this.mqtt.on('message', onReply);
      this.mqtt.on('connect', send);
    });
    // Reporting a final status ends the device's work on the job, whatever the reply: the notify that follows the
    // change (which may arrive before the reply) must not announce it as gone.
    const final = status !== 'IN_PROGRESS';
    if (final && this.current === jobId) this.current = undefined;
    send();
    const result = await reply;
    if (final) this.requestNext();
    return result;
  }

  private readonly onMessage = (topic: string, raw: Buffer): void => {
    if (topic === this.topics.notify) return this.onNotify(JSON.parse(raw.toString()) as Json);
    if (this.topics.nextReplies.includes(topic)) this.nextReplies++;
    if (topic === this.topics.nextReplies[0]) return this.onNext(JSON.parse(raw.toString()) as Json);
  };

  private onNotify(body: Json): void {
    const jobs = (body.jobs ?? {}) as Record<string, { jobId: string }[]>;
    const listed = new Set(Object.values(jobs).flat().map((j) => j.jobId));
    if (this.current !== undefined && !listed.has(this.current)) {
      const gone = this.current;
      this.current = undefined;
      this.handlers.onJobGone?.(gone);
    }
    if ((jobs.QUEUED?.length ?? 0) > 0) this.requestNext();
  }

  private onNext(body: Json): void {
    const e = body.execution as DeploymentJob | undefined;
    const confirming = this.confirming;
    this.confirming = undefined;
    if (confirming !== undefined) {
      const pending = e?.jobId === confirming.jobId;
      if (!pending && this.current === confirming.jobId) {
        this.current = undefined;
        this.handlers.onJobGone?.(confirming.jobId);
      }
      confirming.answer(pending);
    }
    if (!e) return; // nothing pending
    if (e.queuedAt < this.latestQueuedAt || (e.queuedAt === this.latestQueuedAt && this.seenAtLatest.has(e.jobId))) return;
    if (e.queuedAt > this.latestQueuedAt) {
      this.latestQueuedAt = e.queuedAt;
      this.seenAtLatest.clear();
    }
    this.seenAtLatest.add(e.jobId);
    this.current = e.jobId;
    this.handlers.onJob(e);
  }
}
