// The one store interface. Two implementations share it (SQLite and PostgreSQL, see sql-store.ts);
// every call is scoped by account and region, and `transaction` gives a store whose calls commit together.
import type { CoreDevice, InstalledComponent } from '../core/fleet-status/apply.js';
import type { AbortCriteria, JobExecution, JobExecutionStatus, RolloutConfig, TimeoutConfig } from '../core/jobs/types.js';
// shadows and thing deployments
import type { EffectiveDeploymentExecutionStatus, EffectiveDeploymentStatusDetails } from '../core/device-document/status-details.js';
import type { ShadowDocument } from '../core/shadow/rules.js';

export interface Scope {
  accountId: string;
  region: string;
}

export interface Thing {
  name: string;
  id: string;
  thingTypeName?: string;
  attributes: Record<string, string>;
  version: number;
  createdAt: number; // epoch ms
}

export interface ThingGroup {
  name: string;
  id: string;
  parentName?: string;
  description?: string;
  attributes: Record<string, string>;
  version: number;
  createdAt: number;
}

export type MembershipChangeKind = 'ADDED' | 'REMOVED';

/** One entry of the ordered, durable log of direct thing-group membership changes. */
export interface MembershipChange {
  seq: number;
  thingName: string;
  groupName: string;
  change: MembershipChangeKind;
  at: number;
}

export type DeploymentStatus = 'ACTIVE' | 'COMPLETED' | 'CANCELED' | 'FAILED' | 'INACTIVE';

export interface Deployment {
  deploymentId: string;
  targetArn: string;
  revision: number;
  deploymentName?: string;
  status: DeploymentStatus;
  isLatest: boolean;
  iotJobId?: string;
  iotJobArn?: string;
  parentTargetArn?: string;
  /** Stored exactly as the caller sent them (API shapes); defaults are applied only for devices. */
  components?: Record<string, unknown>;
  deploymentPolicies?: Record<string, unknown>;
  iotJobConfiguration?: Record<string, unknown>;
  createdAt: number;
  /** Thing deployments only: what the device last said about this revision (QUEUED until it says anything). */
  deviceStatus?: DeviceDeploymentStatus;
}

/** A thing's own status for a deployment revision sent to it through its deployment shadow (semantics §8.5). */
export interface DeviceDeploymentStatus {
  status: EffectiveDeploymentExecutionStatus;
  /** The device's detailedStatus (EffectiveDeployment `reason`). */
  detailedStatus?: string;
  failureCause?: string;
  statusDetails: EffectiveDeploymentStatusDetails;
  updatedAt: number;
}

export interface DeploymentFilter {
  targetArn?: string;
  parentTargetArn?: string;
  latestOnly: boolean;
}

/** A page request: `after` is the cursor the previous page returned, `limit` the page size. */
export interface PageRequest {
  after?: string;
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** Cursor of the last item when more may follow; absent on the last page. */
  next?: string;
}

export type ComponentState = 'REQUESTED' | 'INITIATED' | 'DEPLOYABLE' | 'FAILED' | 'DEPRECATED';

/** A published component version: its recipe (as meadow stores it, with artifact digests) and cloud status. */
export interface ComponentVersion {
  name: string;
  version: string;
  /** Canonical recipe JSON. */
  recipe: string;
  state: ComponentState;
  message?: string;
  /** Per-artifact errors, keyed by artifact URI. */
  errors?: Record<string, string>;
  createdAt: number;
}

export type TokenClaim =
  | { state: 'claimed' }
  | { state: 'in-progress' }
  | { state: 'done'; requestHash: string; response: unknown };

export interface TokenKey {
  operation: string;
  token: string;
}

// ---- jobs (rollouts) ----

export type JobStatus = 'IN_PROGRESS' | 'CANCELED' | 'COMPLETED';

/** The IoT job of a group deployment revision (semantics §8.1). Config members are the API shapes, as given. */
export interface Job {
  jobId: string;
  deploymentId: string;
  /** The thing group ARN the deployment targets. */
  targetArn: string;
  groupName: string;
  namespaceId: string;
  targetSelection: 'CONTINUOUS';
  status: JobStatus;
  /** The job document as devices receive it (may be the LARGE_CONFIGURATION form). */
  document: string;
  /** The complete device document (what GetDeploymentConfiguration serves). */
  fullDocument: string;
  rolloutConfig?: RolloutConfig;
  abortConfig?: { criteriaList?: AbortCriteria[] };
  timeoutConfig?: TimeoutConfig;
  createdAt: number;
  updatedAt: number;
  completedAt?: number;
  reasonCode?: string;
  comment?: string;
  forceCanceled: boolean;
}

export type JobChange = Partial<Pick<Job, 'status' | 'updatedAt' | 'completedAt' | 'reasonCode' | 'comment' | 'forceCanceled'>>;

export interface JobFilter {
  status?: JobStatus;
  groupName?: string;
  namespaceId?: string;
}

/** One thing's execution of one job, as stored. */
export interface StoredJobExecution extends JobExecution {
  jobId: string;
  thingName: string;
  executionNumber: number;
  /** When the rollout released it to the device; undefined while the rollout rate holds it back. */
  notifiedAt?: number;
  /** Whether its release counts against the job's rollout rate (false for things that joined the group later). */
  rateLimited: boolean;
  /** When it times out while IN_PROGRESS (derived from the job's timeout config and the step timer). */
  timeoutAt?: number;
}

export interface JobExecutionFilter {
  jobId?: string;
  thingName?: string;
  status?: JobExecutionStatus;
  statuses?: JobExecutionStatus[];
  /** Only executions of jobs in this namespace. */
  namespaceId?: string;
  /** Only executions the rollout has released to their devices. */
  releasedOnly?: boolean;
}

export interface RolloutProgress {
  /** Release times, within the window asked for, of executions that count against the rate. */
  notificationTimes: number[];
  notifiedCount: number;
  succeededCount: number;
}

// ---- shadows ----

/** A thing's classic (shadowName '') or named shadow. A deleted one is kept, without state, to carry its version on. */
export interface StoredShadow extends ShadowDocument {
  thingName: string;
  shadowName: string;
  createdAt: number;
  updatedAt: number;
  /** Set while the shadow does not exist (deleted, or never created): `version` is then the last version it had. */
  deletedAt?: number;
}

// ---- device identity (certificates) ----

/** The certificate authority as stored (one per installation). */
export interface StoredCertificateAuthority {
  certificatePem: string;
  privateKeyPem: string;
  createdAt: number;
}

export type CertificateStatus = 'ACTIVE' | 'INACTIVE' | 'REVOKED';

/** A device certificate meadow issued. Its private key is never stored. */
export interface Certificate {
  /** Hex SHA-256 of the DER encoding. */
  id: string;
  pem: string;
  status: CertificateStatus;
  caCertificateId?: string;
  notBefore: number;
  notAfter: number;
  /** Starts at 1 and grows with every change, as IoT's customerVersion. */
  customerVersion: number;
  generationId: string;
  createdAt: number;
  lastModifiedAt: number;
}

export type ThingPrincipalType = 'EXCLUSIVE_THING' | 'NON_EXCLUSIVE_THING';

/** A principal (a certificate ARN) attached to a thing. */
export interface ThingPrincipal {
  thingName: string;
  principal: string;
  type: ThingPrincipalType;
  attachedAt: number;
}

// ---- core devices (fleet status) ----

export interface GroupDeploymentSuccess {
  thingName: string;
  groupName: string;
  deploymentId: string;
  at: number;
}

export type { CoreDevice, InstalledComponent } from '../core/fleet-status/apply.js';

export interface CoreDeviceFilter {
  status?: CoreDevice['status'];
  runtime?: string;
  /** Only devices that completed a deployment to this thing group (by its name). */
  groupName?: string;
}

/**
 * A group deployment delivered to a thing: its latest released execution of the deployment's job that was not
 * REMOVED, the job, and the deployment (undefined once DeleteDeployment removed it; the job stays).
 */
export interface DeliveredGroupDeployment {
  job: Job;
  execution: StoredJobExecution;
  deployment?: Deployment;
}

/** A position in a thing's effective deployments, which are ordered newest deployment first, then by deployment id. */
export interface EffectiveDeploymentCursor {
  createdAt: number;
  deploymentId: string;
}

export interface Store {
  /** Runs fn with a store whose writes commit together, or not at all if fn throws. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  /**
   * Runs fn after the current transaction commits (never if it rolls back); at once outside a transaction. For
   * in-process notifications that must not announce what a rollback would undo. fn must not throw.
   */
  afterCommit(fn: () => void): void;
  close(): Promise<void>;

  getThing(scope: Scope, name: string): Promise<Thing | undefined>;
  putThing(scope: Scope, thing: Thing): Promise<void>;
  deleteThing(scope: Scope, name: string): Promise<void>;
  listThings(
    scope: Scope,
    filter: { thingTypeName?: string; attributeName?: string; attributeValue?: string; usePrefixAttributeValue?: boolean },
    page: PageRequest,
  ): Promise<Page<Thing>>;

  getThingGroup(scope: Scope, name: string): Promise<ThingGroup | undefined>;
  putThingGroup(scope: Scope, group: ThingGroup): Promise<void>;
  deleteThingGroup(scope: Scope, name: string): Promise<void>;
  /** parentName: undefined = any group, null = only root groups. */
  listThingGroups(scope: Scope, filter: { parentName?: string | null; namePrefix?: string }, page: PageRequest): Promise<Page<ThingGroup>>;
  listChildGroupNames(scope: Scope, parentName: string): Promise<string[]>;
  /** The group and every group below it in the hierarchy. */
  groupAndDescendantNames(scope: Scope, name: string): Promise<string[]>;
  /** The group's ancestors, root first (empty for a root group). */
  ancestorsOf(scope: Scope, name: string): Promise<ThingGroup[]>;

  listGroupNamesOfThing(scope: Scope, thingName: string): Promise<string[]>;
  /** Distinct names of things directly in any of the given groups, by name. */
  listThingNamesInGroups(scope: Scope, groupNames: string[], page: PageRequest): Promise<Page<string>>;
  /** Both record the change in the membership log; they return false (and log nothing) when nothing changed. */
  addThingToGroup(scope: Scope, thingName: string, groupName: string, at: number): Promise<boolean>;
  removeThingFromGroup(scope: Scope, thingName: string, groupName: string, at: number): Promise<boolean>;
  membershipChangesAfter(scope: Scope, seq: number, limit: number): Promise<MembershipChange[]>;

  /** Next revision number for a target; holds the target's row lock until the transaction ends. */
  nextRevision(scope: Scope, targetArn: string): Promise<number>;
  /** Takes the target's row lock (as nextRevision does, without taking a revision) until the transaction ends. */
  lockTarget(scope: Scope, targetArn: string): Promise<void>;
  latestDeploymentFor(scope: Scope, targetArn: string): Promise<Deployment | undefined>;
  insertDeployment(scope: Scope, deployment: Deployment): Promise<void>;
  getDeployment(scope: Scope, deploymentId: string): Promise<Deployment | undefined>;
  updateDeployment(scope: Scope, deploymentId: string, change: Partial<Pick<Deployment, 'status' | 'isLatest' | 'deviceStatus'>>): Promise<void>;
  /** The deployment of one revision of a target (superseded revisions included). */
  getDeploymentRevision(scope: Scope, targetArn: string, revision: number): Promise<Deployment | undefined>;
  deleteDeployment(scope: Scope, deploymentId: string): Promise<void>;
  listDeployments(scope: Scope, filter: DeploymentFilter, page: PageRequest): Promise<Page<Deployment>>;

  getTags(scope: Scope, resourceArn: string): Promise<Record<string, string>>;
  putTags(scope: Scope, resourceArn: string, tags: Record<string, string>): Promise<void>;
  removeTags(scope: Scope, resourceArn: string, keys: string[]): Promise<void>;

  /** Returns false, storing nothing, when that name and version exist already. */
  insertComponentVersion(scope: Scope, component: ComponentVersion): Promise<boolean>;
  getComponentVersion(scope: Scope, name: string, version: string): Promise<ComponentVersion | undefined>;
  /** Every version of one component, in no particular order (semantic-version order is the caller's). */
  listVersionsOfComponent(scope: Scope, name: string): Promise<ComponentVersion[]>;
  /** Names of components with at least one version, by name. */
  listComponentNames(scope: Scope, page: PageRequest): Promise<Page<string>>;
  deleteComponentVersion(scope: Scope, name: string, version: string): Promise<void>;

  /** Claims a client token for a request, or reports the earlier request that holds it. */
  claimToken(scope: Scope, key: TokenKey, requestHash: string, now: number, ttlMs: number, staleMs: number): Promise<TokenClaim>;
  completeToken(scope: Scope, key: TokenKey, response: unknown, now: number): Promise<void>;
  releaseToken(scope: Scope, key: TokenKey): Promise<void>;
  // ---- jobs (rollouts) ----
  insertJob(scope: Scope, job: Job): Promise<void>;
  getJob(scope: Scope, jobId: string): Promise<Job | undefined>;
  /**
   * Reads the job holding its row lock until the transaction ends. Every change to a job, its executions or (through
   * it) its deployment's status takes this lock first, so two processes never change one job's state at once.
   */
  lockJob(scope: Scope, jobId: string): Promise<Job | undefined>;
  updateJob(scope: Scope, jobId: string, change: JobChange): Promise<void>;
  /** Newest first. */
  listJobs(scope: Scope, filter: JobFilter, page: PageRequest): Promise<Page<Job>>;
  /** IN_PROGRESS jobs that target one of these groups. */
  inProgressJobsOfGroups(scope: Scope, groupNames: string[]): Promise<Job[]>;
  /** Ids of IN_PROGRESS jobs with QUEUED executions the rollout has not released yet. */
  jobsWithUnreleasedExecutions(scope: Scope): Promise<string[]>;
  insertJobExecutions(scope: Scope, executions: StoredJobExecution[]): Promise<void>;
  /** That execution, or without executionNumber the thing's latest execution of the job. */
  getJobExecution(scope: Scope, jobId: string, thingName: string, executionNumber?: number): Promise<StoredJobExecution | undefined>;
  /** Every execution (all execution numbers) of the job for these things. */
  jobExecutionsOfThings(scope: Scope, jobId: string, thingNames: string[]): Promise<StoredJobExecution[]>;
  /**
   * The released IN_PROGRESS and QUEUED executions of these things (every job), ordered by thing, then queue order
   * (queuedAt, job id, execution number). One query for many devices: notifications and `$next` answers are batched.
   */
  pendingExecutionsOfThings(scope: Scope, thingNames: string[]): Promise<StoredJobExecution[]>;
  /** Stores the execution only if its stored versionNumber is still `expectedVersion`; false when it is not. */
  replaceJobExecution(scope: Scope, execution: StoredJobExecution, expectedVersion: number): Promise<boolean>;
  /**
   * Stores many executions at once, each over a stored one with a lower versionNumber (the caller holds their job's
   * lock); returns how many were stored.
   */
  replaceJobExecutions(scope: Scope, executions: StoredJobExecution[]): Promise<number>;
  /** By thing name when filtered by job, else by queuedAt then job id. */
  listJobExecutions(scope: Scope, filter: JobExecutionFilter, page: PageRequest): Promise<Page<StoredJobExecution>>;
  jobExecutionStatusCounts(scope: Scope, jobId: string): Promise<Partial<Record<JobExecutionStatus, number>>>;
  rolloutProgress(scope: Scope, jobId: string, windowStart: number): Promise<RolloutProgress>;
  /** QUEUED executions not released yet, in queue order. */
  unreleasedExecutions(scope: Scope, jobId: string, limit: number): Promise<StoredJobExecution[]>;
  /** Sets notifiedAt on those executions that are still unreleased; returns how many it released. */
  markReleased(scope: Scope, jobId: string, executions: Pick<StoredJobExecution, 'thingName' | 'executionNumber'>[], at: number): Promise<number>;
  /** IN_PROGRESS executions whose timeoutAt is at or before `now`. */
  dueTimeouts(scope: Scope, now: number, limit: number): Promise<StoredJobExecution[]>;
  earliestTimeoutAt(scope: Scope): Promise<number | undefined>;
  /** The consumer's position in the membership log (0 at first), holding its row until the transaction ends. */
  lockRolloutCursor(scope: Scope, consumer: string): Promise<number>;
  setRolloutCursor(scope: Scope, consumer: string, position: number): Promise<void>;
  /** Holds the membership log's writer lock until the transaction ends: no membership change commits meanwhile. */
  holdMembershipLog(scope: Scope): Promise<void>;
  // ---- shadows ----
  /** The shadow's row (deleted ones included), or undefined when it never existed. */
  getShadow(scope: Scope, thingName: string, shadowName: string): Promise<StoredShadow | undefined>;
  /**
   * Holds the shadow's row lock until the transaction ends (creating a row that says "deleted, version 0" when there is
   * none, so that two first updates also wait for each other) and reads it. Every shadow change takes it first.
   */
  lockShadow(scope: Scope, thingName: string, shadowName: string): Promise<StoredShadow>;
  /** Replaces the shadow's row (taken with lockShadow). */
  putShadow(scope: Scope, shadow: StoredShadow): Promise<void>;
  // ---- device identity (certificates) ----
  getCertificateAuthority(): Promise<StoredCertificateAuthority | undefined>;
  /** Stores the CA unless one is stored already (then the stored one stays: read it back). */
  insertCertificateAuthorityIfAbsent(ca: StoredCertificateAuthority): Promise<void>;
  insertCertificate(scope: Scope, certificate: Certificate): Promise<void>;
  getCertificate(scope: Scope, certificateId: string): Promise<Certificate | undefined>;
  /** Reads the certificate holding its row lock until the transaction ends (attach, update and delete take it). */
  lockCertificate(scope: Scope, certificateId: string): Promise<Certificate | undefined>;
  /** Replaces the stored certificate of that id. */
  updateCertificate(scope: Scope, certificate: Certificate): Promise<void>;
  deleteCertificate(scope: Scope, certificateId: string): Promise<void>;
  /** By creation time (then id), oldest first unless descending; the cursor is the last item's. */
  listCertificates(scope: Scope, order: 'ascending' | 'descending', page: PageRequest): Promise<Page<Certificate>>;
  /** Attaches, or changes the type of an existing attachment. */
  attachThingPrincipal(scope: Scope, attachment: ThingPrincipal): Promise<void>;
  /** False when it was not attached. */
  detachThingPrincipal(scope: Scope, thingName: string, principal: string): Promise<boolean>;
  /** The thing's principals, by principal. */
  listPrincipalsOfThing(scope: Scope, thingName: string, page: PageRequest): Promise<Page<ThingPrincipal>>;
  /** The things a principal is attached to, by thing name. */
  listThingsOfPrincipal(scope: Scope, principal: string, page: PageRequest): Promise<Page<ThingPrincipal>>;
  /** One attachment, if the principal is attached to the thing. */
  getThingPrincipal(scope: Scope, thingName: string, principal: string): Promise<ThingPrincipal | undefined>;
  // ---- core devices (fleet status) ----
  getCoreDevice(scope: Scope, thingName: string): Promise<CoreDevice | undefined>;
  /** The records of those of these things that have one. */
  getCoreDevices(scope: Scope, thingNames: string[]): Promise<CoreDevice[]>;
  /** Creates or replaces the devices' records. */
  putCoreDevices(scope: Scope, devices: CoreDevice[]): Promise<void>;
  /** Removes the record, its installed components and waiting status chunks; false when there was no record. */
  deleteCoreDevice(scope: Scope, thingName: string): Promise<boolean>;
  /** By thing name. */
  listCoreDevices(scope: Scope, filter: CoreDeviceFilter, page: PageRequest): Promise<Page<CoreDevice>>;
  /** Per thing, every installed component of the device, by name (an empty list for a thing with none). */
  installedComponentsOf(scope: Scope, thingNames: string[]): Promise<Map<string, InstalledComponent[]>>;
  /** Replaces each thing's installed components with the list given for it. */
  replaceInstalledComponents(scope: Scope, byThing: Map<string, InstalledComponent[]>): Promise<void>;
  /** By component name. */
  listInstalledComponents(scope: Scope, thingName: string, filter: { rootOnly: boolean }, page: PageRequest): Promise<Page<InstalledComponent>>;
  /** Keeps one chunk of a chunked status message (a resent chunk replaces the first). */
  putStatusChunk(scope: Scope, thingName: string, sequenceNumber: number, chunkId: number, components: unknown): Promise<void>;
  /** The chunks kept for one message, by chunk id. */
  statusChunks(scope: Scope, thingName: string, sequenceNumber: number): Promise<{ chunkId: number; components: unknown }[]>;
  /** Those of these things that have chunks of a status message kept. */
  thingsWithStatusChunks(scope: Scope, thingNames: string[]): Promise<Set<string>>;
  /** Drops the kept chunks of messages up to and including this sequence number. */
  deleteStatusChunks(scope: Scope, thingName: string, throughSequenceNumber: number): Promise<void>;
  /** Records that each thing completed a deployment to the group (kept when the thing leaves the group). */
  recordGroupDeploymentSuccesses(scope: Scope, successes: GroupDeploymentSuccess[]): Promise<void>;
  /** The thing's delivered group deployments after the cursor, newest deployment first. */
  listDeliveredGroupDeployments(scope: Scope, thingName: string, after: EffectiveDeploymentCursor | undefined, limit: number): Promise<DeliveredGroupDeployment[]>;
  /** The revisions of deployments to one thing (its deployment shadow carried each), in effective-deployment order. */
  listDeliveredThingDeployments(scope: Scope, thingArn: string, after: EffectiveDeploymentCursor | undefined, limit: number): Promise<Deployment[]>;
}
