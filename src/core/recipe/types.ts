// The shape of a Greengrass component recipe after parsing: canonical UpperCamelCase keys, values as written.
// Defaults are not filled in (see the DEFAULT_* constants); keys the recipe format does not know are kept as given.

export const RECIPE_FORMAT_VERSION = '2020-01-25';

export const COMPONENT_TYPES = [
  'aws.greengrass.generic',
  'aws.greengrass.lambda',
  'aws.greengrass.plugin',
  'aws.greengrass.nucleus',
] as const;
export type ComponentType = (typeof COMPONENT_TYPES)[number];

export type DependencyType = 'HARD' | 'SOFT';
export const DEFAULT_DEPENDENCY_TYPE: DependencyType = 'HARD';

export interface ComponentDependency {
  /** npm-style range, e.g. `>=1.0.0 <2.0.0`. */
  VersionRequirement: string;
  /** HARD (default): the dependent restarts when the dependency changes state; SOFT: it does not. */
  DependencyType?: DependencyType;
}

export interface ComponentConfiguration {
  /** Free-form user data; key case is kept. */
  DefaultConfiguration?: Record<string, unknown>;
}

/** Environment variables: names keep their case. */
export type Setenv = Record<string, string>;

export interface LifecycleScript {
  Script: string;
  RequiresPrivilege?: boolean;
  /** `exists <path>` or `onpath <executable>`, optionally negated with a leading `!`. */
  Skipif?: string;
  /** Seconds. */
  Timeout?: number;
  Setenv?: Setenv;
}

/** A step is either the script itself or a script with options. */
export type LifecycleStep = string | LifecycleScript;

export const LIFECYCLE_STEPS = ['Bootstrap', 'Install', 'Startup', 'Run', 'Shutdown', 'Recover', 'Uninstall'] as const;
export type LifecycleStepName = (typeof LIFECYCLE_STEPS)[number];

/**
 * Steps plus lifecycle-wide Setenv. Any other key is a selection key (e.g. `linux`) whose value is again a
 * Lifecycle; a manifest's Selections pick which of them apply.
 */
export type Lifecycle = { Setenv?: Setenv } & { [step in LifecycleStepName]?: LifecycleStep } & {
  [selectionKey: string]: Lifecycle | LifecycleStep | Setenv | undefined;
};

export type Unarchive = 'NONE' | 'ZIP';
export type PermissionLevel = 'NONE' | 'OWNER' | 'ALL';
export const DEFAULT_UNARCHIVE: Unarchive = 'NONE';
export const DEFAULT_PERMISSION = { Read: 'OWNER', Execute: 'NONE' } as const satisfies ArtifactPermission;

export interface ArtifactPermission {
  Read?: PermissionLevel;
  Execute?: PermissionLevel;
}

export interface Artifact {
  /** `s3://BUCKET/KEY`, `greengrass:NAME` or `docker:IMAGE`. */
  Uri: string;
  Unarchive?: Unarchive;
  Permission?: ArtifactPermission;
  /** Base64 of the raw SHA-256 bytes. */
  Digest?: string;
  Algorithm?: 'SHA-256';
}

/** Attribute name (case kept) -> label, `*` or `/regex/`. */
export type PlatformRequirement = Record<string, string>;

export interface Manifest {
  Name?: string;
  /** Absent or empty: matches every device. */
  Platform?: PlatformRequirement;
  Lifecycle?: Lifecycle;
  /** Selection keys of the recipe-level Lifecycle; used only when this manifest has no Lifecycle. */
  Selections?: string[];
  Artifacts?: Artifact[];
}

export interface Recipe {
  RecipeFormatVersion: typeof RECIPE_FORMAT_VERSION;
  ComponentName: string;
  ComponentVersion: string;
  ComponentType?: ComponentType;
  ComponentDescription?: string;
  ComponentPublisher?: string;
  /** For Lambda components: the function's ARN. */
  ComponentSource?: string;
  /** Dependency component name (case kept) -> requirement. */
  ComponentDependencies?: Record<string, ComponentDependency>;
  ComponentConfiguration?: ComponentConfiguration;
  /** The first manifest whose Platform matches the device wins. */
  Manifests?: Manifest[];
  /** Recipe-level lifecycle, used by manifests that have no Lifecycle of their own. */
  Lifecycle?: Lifecycle;
  Selections?: string[];
  /** Keys the recipe format does not define are kept as given. */
  [unknownKey: string]: unknown;
}

/** The API's ComponentPlatform. */
export interface ComponentPlatform {
  name?: string;
  attributes: Record<string, string>;
}
