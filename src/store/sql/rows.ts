// Rows to domain objects and back: the one place that knows how each table stores its resource (JSON columns,
// nullable columns as absent members, epoch-millisecond numbers that PostgreSQL returns as strings).
import type { JobExecutionStatus } from '../../core/jobs/types.js';
import type { Database } from '../schema.js';
import type {
  Certificate,
  ComponentVersion,
  CoreDevice,
  Deployment,
  DeviceDeploymentStatus,
  InstalledComponent,
  Job,
  Scope,
  StoredJobExecution,
  StoredShadow,
  Thing,
  ThingGroup,
  ThingPrincipal,
} from '../store.js';
import { json, opt, parse } from './query.js';

export function toThing(r: Database['things']): Thing {
  return {
    name: r.name,
    id: r.thing_id,
    thingTypeName: opt(r.thing_type_name),
    attributes: JSON.parse(r.attributes),
    version: r.version,
    createdAt: Number(r.created_at),
  };
}

export function toGroup(r: Database['thing_groups']): ThingGroup {
  return {
    name: r.name,
    id: r.group_id,
    parentName: opt(r.parent_name),
    description: opt(r.description),
    attributes: JSON.parse(r.attributes),
    version: r.version,
    createdAt: Number(r.created_at),
  };
}

export type DeploymentRow = Omit<Database['deployments'], 'seq'> & { seq: number };

export function toDeployment(r: DeploymentRow): Deployment {
  return {
    deploymentId: r.deployment_id,
    targetArn: r.target_arn,
    revision: r.revision,
    deploymentName: opt(r.deployment_name),
    status: r.status as Deployment['status'],
    isLatest: r.is_latest === 1,
    iotJobId: opt(r.iot_job_id),
    iotJobArn: opt(r.iot_job_arn),
    parentTargetArn: opt(r.parent_target_arn),
    components: parse(r.components),
    deploymentPolicies: parse(r.deployment_policies),
    iotJobConfiguration: parse(r.iot_job_configuration),
    createdAt: Number(r.created_at),
    deviceStatus: toDeviceStatus(r),
  };
}

export function toDeviceStatus(r: DeploymentRow): DeviceDeploymentStatus | undefined {
  if (r.device_status === null || r.device_status_updated_at === null) return undefined;
  return {
    status: r.device_status as DeviceDeploymentStatus['status'],
    detailedStatus: opt(r.device_detailed_status),
    failureCause: opt(r.device_failure_cause),
    statusDetails: parse(r.device_status_details) ?? { errorStack: [], errorTypes: [] },
    updatedAt: Number(r.device_status_updated_at),
  };
}

export function deviceStatusColumns(d: DeviceDeploymentStatus | undefined) {
  return {
    device_status: d?.status ?? null,
    device_detailed_status: d?.detailedStatus ?? null,
    device_failure_cause: d?.failureCause ?? null,
    device_status_details: json(d?.statusDetails),
    device_status_updated_at: d?.updatedAt ?? null,
  };
}

export function toShadow(r: Database['shadows']): StoredShadow {
  return {
    thingName: r.thing_name,
    shadowName: r.shadow_name,
    state: JSON.parse(r.state),
    metadata: JSON.parse(r.metadata),
    version: Number(r.version),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    deletedAt: r.deleted_at === null ? undefined : Number(r.deleted_at),
  };
}

export function toComponentVersion(r: Database['component_versions']): ComponentVersion {
  return {
    name: r.name,
    version: r.version,
    recipe: r.recipe,
    state: r.state as ComponentVersion['state'],
    message: opt(r.message),
    errors: parse(r.errors),
    createdAt: Number(r.created_at),
  };
}

export type JobRow = Omit<Database['jobs'], 'seq'> & { seq: number };

export function toJob(r: JobRow): Job {
  return {
    jobId: r.job_id,
    deploymentId: r.deployment_id,
    targetArn: r.target_arn,
    groupName: r.group_name,
    namespaceId: r.namespace_id,
    targetSelection: r.target_selection as Job['targetSelection'],
    status: r.status as Job['status'],
    document: r.document,
    fullDocument: r.full_document,
    rolloutConfig: parse(r.rollout_config),
    abortConfig: parse(r.abort_config),
    timeoutConfig: parse(r.timeout_config),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    completedAt: r.completed_at === null ? undefined : Number(r.completed_at),
    reasonCode: opt(r.reason_code),
    comment: opt(r.comment),
    forceCanceled: r.force_canceled === 1,
  };
}

const optNumber = (v: number | null) => (v === null ? undefined : Number(v));

export function toExecution(r: Database['job_executions']): StoredJobExecution {
  const e: StoredJobExecution = {
    jobId: r.job_id,
    thingName: r.thing_name,
    executionNumber: Number(r.execution_number),
    status: r.status as JobExecutionStatus,
    statusDetails: JSON.parse(r.status_details),
    queuedAt: Number(r.queued_at),
    lastUpdatedAt: Number(r.last_updated_at),
    versionNumber: Number(r.version_number),
    rateLimited: r.rate_limited === 1,
  };
  // Optional members are left out rather than set to undefined, as the jobs core builds them.
  const startedAt = optNumber(r.started_at);
  if (startedAt !== undefined) e.startedAt = startedAt;
  const stepTimeoutAt = optNumber(r.step_timeout_at);
  if (stepTimeoutAt !== undefined) e.stepTimeoutAt = stepTimeoutAt;
  const notifiedAt = optNumber(r.notified_at);
  if (notifiedAt !== undefined) e.notifiedAt = notifiedAt;
  const timeoutAt = optNumber(r.timeout_at);
  if (timeoutAt !== undefined) e.timeoutAt = timeoutAt;
  return e;
}

export function executionRow(s: Scope, e: StoredJobExecution): Database['job_executions'] {
  return {
    account_id: s.accountId,
    region: s.region,
    job_id: e.jobId,
    thing_name: e.thingName,
    execution_number: e.executionNumber,
    status: e.status,
    status_details: JSON.stringify(e.statusDetails),
    queued_at: e.queuedAt,
    started_at: e.startedAt ?? null,
    last_updated_at: e.lastUpdatedAt,
    version_number: e.versionNumber,
    notified_at: e.notifiedAt ?? null,
    rate_limited: e.rateLimited ? 1 : 0,
    step_timeout_at: e.stepTimeoutAt ?? null,
    timeout_at: e.timeoutAt ?? null,
  };
}

// ---- device identity (certificates) ----

export function certificateRow(s: Scope, c: Certificate): Database['certificates'] {
  return {
    account_id: s.accountId,
    region: s.region,
    certificate_id: c.id,
    certificate_pem: c.pem,
    status: c.status,
    ca_certificate_id: c.caCertificateId ?? null,
    not_before: c.notBefore,
    not_after: c.notAfter,
    customer_version: c.customerVersion,
    generation_id: c.generationId,
    created_at: c.createdAt,
    last_modified_at: c.lastModifiedAt,
  };
}

export function toCertificate(r: Database['certificates']): Certificate {
  return {
    id: r.certificate_id,
    pem: r.certificate_pem,
    status: r.status as Certificate['status'],
    caCertificateId: opt(r.ca_certificate_id),
    notBefore: Number(r.not_before),
    notAfter: Number(r.not_after),
    customerVersion: r.customer_version,
    generationId: r.generation_id,
    createdAt: Number(r.created_at),
    lastModifiedAt: Number(r.last_modified_at),
  };
}

export function toThingPrincipal(r: Database['thing_principals']): ThingPrincipal {
  return { thingName: r.thing_name, principal: r.principal, type: r.principal_type as ThingPrincipal['type'], attachedAt: Number(r.attached_at) };
}

// ---- core devices (fleet status) ----

export function toCoreDevice(r: Database['core_devices']): CoreDevice {
  const d: CoreDevice = {
    thingName: r.thing_name,
    coreVersion: r.core_version,
    platform: r.platform,
    architecture: r.architecture,
    runtime: r.runtime,
    status: r.status as CoreDevice['status'],
    lastStatusUpdateAt: Number(r.last_status_update_at),
    createdAt: Number(r.created_at),
  };
  if (r.last_sequence_number !== null) d.lastSequenceNumber = Number(r.last_sequence_number);
  return d;
}

export function coreDeviceRow(s: Scope, d: CoreDevice): Database['core_devices'] {
  return {
    account_id: s.accountId,
    region: s.region,
    thing_name: d.thingName,
    core_version: d.coreVersion,
    platform: d.platform,
    architecture: d.architecture,
    runtime: d.runtime,
    status: d.status,
    last_status_update_at: d.lastStatusUpdateAt,
    last_sequence_number: d.lastSequenceNumber ?? null,
    created_at: d.createdAt,
  };
}

export function toInstalledComponent(r: Database['installed_components']): InstalledComponent {
  const c: InstalledComponent = {
    componentName: r.component_name,
    componentVersion: r.component_version,
    lifecycleState: r.lifecycle_state as InstalledComponent['lifecycleState'],
    lifecycleStatusCodes: JSON.parse(r.lifecycle_status_codes) as string[],
    isRoot: r.is_root === 1,
    lastStatusChangeAt: Number(r.last_status_change_at),
    lastReportedAt: Number(r.last_reported_at),
  };
  if (r.lifecycle_state_details !== null) c.lifecycleStateDetails = r.lifecycle_state_details;
  if (r.last_installation_source !== null) c.lastInstallationSource = r.last_installation_source;
  return c;
}

export function installedComponentRow(s: Scope, thingName: string, c: InstalledComponent): Database['installed_components'] {
  return {
    account_id: s.accountId,
    region: s.region,
    thing_name: thingName,
    component_name: c.componentName,
    component_version: c.componentVersion,
    lifecycle_state: c.lifecycleState,
    lifecycle_state_details: c.lifecycleStateDetails ?? null,
    lifecycle_status_codes: JSON.stringify(c.lifecycleStatusCodes),
    is_root: c.isRoot ? 1 : 0,
    last_status_change_at: c.lastStatusChangeAt,
    last_reported_at: c.lastReportedAt,
    last_installation_source: c.lastInstallationSource ?? null,
  };
}
