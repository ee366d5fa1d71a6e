// Table types for Kysely. Booleans are stored as 0/1 integers and JSON as text, so one schema fits
// SQLite and PostgreSQL alike; epoch-millisecond times are BIGINT (parsed to numbers on PostgreSQL).
import type { Generated } from 'kysely';

interface Scoped {
  account_id: string;
  region: string;
}

export interface ThingsTable extends Scoped {
  name: string;
  thing_id: string;
  thing_type_name: string | null;
  attributes: string;
  version: number;
  created_at: number;
}

export interface ThingGroupsTable extends Scoped {
  name: string;
  group_id: string;
  parent_name: string | null;
  description: string | null;
  attributes: string;
  version: number;
  created_at: number;
}

export interface ThingGroupMembersTable extends Scoped {
  group_name: string;
  thing_name: string;
  added_at: number;
}

export interface MembershipChangesTable extends Scoped {
  seq: Generated<number>;
  thing_name: string;
  group_name: string;
  change: string;
  at: number;
}

export interface DeploymentTargetsTable extends Scoped {
  target_arn: string;
  last_revision: number;
}

export interface DeploymentsTable extends Scoped {
  seq: Generated<number>;
  deployment_id: string;
  target_arn: string;
  revision: number;
  deployment_name: string | null;
  status: string;
  is_latest: number;
  iot_job_id: string | null;
  iot_job_arn: string | null;
  parent_target_arn: string | null;
  components: string | null;
  deployment_policies: string | null;
  iot_job_configuration: string | null;
  created_at: number;
  // thing deployments' device status: migration 0005
  device_status: string | null;
  device_detailed_status: string | null;
  device_failure_cause: string | null;
  /** JSON `{errorStack, errorTypes}`. */
  device_status_details: string | null;
  device_status_updated_at: number | null;
}

export interface ResourceTagsTable extends Scoped {
  resource_arn: string;
  tag_key: string;
  tag_value: string;
}

export interface IdempotencyTokensTable extends Scoped {
  operation: string;
  token: string;
  request_hash: string;
  state: string;
  response: string | null;
  created_at: number;
}

export interface ComponentVersionsTable extends Scoped {
  name: string;
  version: string;
  /** The stored recipe as canonical JSON, artifact digests included. */
  recipe: string;
  state: string;
  message: string | null;
  errors: string | null;
  created_at: number;
}

// ---- jobs (rollouts): migration 0004 ----

export interface JobsTable extends Scoped {
  seq: Generated<number>;
  job_id: string;
  deployment_id: string;
  target_arn: string;
  group_name: string;
  namespace_id: string;
  target_selection: string;
  status: string;
  document: string;
  full_document: string;
  rollout_config: string | null;
  abort_config: string | null;
  timeout_config: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  reason_code: string | null;
  comment: string | null;
  force_canceled: number;
}

export interface JobExecutionsTable extends Scoped {
  job_id: string;
  thing_name: string;
  execution_number: number;
  status: string;
  status_details: string;
  queued_at: number;
  started_at: number | null;
  last_updated_at: number;
  version_number: number;
  notified_at: number | null;
  rate_limited: number;
  step_timeout_at: number | null;
  timeout_at: number | null;
}

export interface RolloutCursorsTable extends Scoped {
  consumer: string;
  position: number;
}

// ---- shadows: migration 0005 ----

export interface ShadowsTable extends Scoped {
  thing_name: string;
  /** '' for the classic shadow. */
  shadow_name: string;
  /** JSON `{desired?, reported?}`. */
  state: string;
  /** JSON, the state's shape with `{timestamp}` leaves. */
  metadata: string;
  version: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

// ---- device identity (certificates): migration 0003 ----

export interface CertificateAuthorityTable {
  name: string;
  certificate_pem: string;
  private_key_pem: string;
  created_at: number;
}

export interface CertificatesTable extends Scoped {
  certificate_id: string;
  certificate_pem: string;
  status: string;
  ca_certificate_id: string | null;
  not_before: number;
  not_after: number;
  customer_version: number;
  generation_id: string;
  created_at: number;
  last_modified_at: number;
}

export interface ThingPrincipalsTable extends Scoped {
  thing_name: string;
  principal: string;
  principal_type: string;
  attached_at: number;
}

// ---- core devices (fleet status): migration 0006 ----

export interface CoreDevicesTable extends Scoped {
  thing_name: string;
  core_version: string;
  platform: string;
  architecture: string;
  runtime: string;
  status: string;
  last_status_update_at: number;
  last_sequence_number: number | null;
  created_at: number;
}

export interface InstalledComponentsTable extends Scoped {
  thing_name: string;
  component_name: string;
  component_version: string;
  lifecycle_state: string;
  lifecycle_state_details: string | null;
  lifecycle_status_codes: string;
  is_root: number;
  last_status_change_at: number;
  last_reported_at: number;
  last_installation_source: string | null;
}

export interface CoreDeviceStatusChunksTable extends Scoped {
  thing_name: string;
  sequence_number: number;
  chunk_id: number;
  components: string;
}

export interface CoreDeviceGroupDeploymentsTable extends Scoped {
  thing_name: string;
  group_name: string;
  deployment_id: string;
  succeeded_at: number;
}

export interface Database {
  things: ThingsTable;
  thing_groups: ThingGroupsTable;
  thing_group_members: ThingGroupMembersTable;
  membership_changes: MembershipChangesTable;
  deployment_targets: DeploymentTargetsTable;
  deployments: DeploymentsTable;
  resource_tags: ResourceTagsTable;
  idempotency_tokens: IdempotencyTokensTable;
  component_versions: ComponentVersionsTable;
  // jobs (rollouts)
  jobs: JobsTable;
  job_executions: JobExecutionsTable;
  rollout_cursors: RolloutCursorsTable;
  // shadows
  shadows: ShadowsTable;
  // device identity (certificates)
  certificate_authority: CertificateAuthorityTable;
  certificates: CertificatesTable;
  thing_principals: ThingPrincipalsTable;
  // core devices (fleet status)
  core_devices: CoreDevicesTable;
  installed_components: InstalledComponentsTable;
  core_device_status_chunks: CoreDeviceStatusChunksTable;
  core_device_group_deployments: CoreDeviceGroupDeploymentsTable;
}
