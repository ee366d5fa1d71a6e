// The one store interface. Two implementations share it (SQLite and PostgreSQL, see sql-store.ts);
// every call is scoped by account and region, and `transaction` gives a store whose calls commit together.

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

export interface Store {
  /** Runs fn with a store whose writes commit together, or not at all if fn throws. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
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
  updateDeployment(scope: Scope, deploymentId: string, change: Partial<Pick<Deployment, 'status' | 'isLatest'>>): Promise<void>;
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
}
