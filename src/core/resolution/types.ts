// Inputs and outputs of component version resolution (semantics §1.3, §7). Deliberately independent of how
// recipes are parsed or stored: callers adapt their recipes to CandidateVersion.

export type DependencyType = 'HARD' | 'SOFT';

export interface Dependency {
  /** npm-style semver range, e.g. `^1.2.0` or `>=1.0.0 <2.0.0`. */
  versionRequirement: string;
  /** Only changes restart behaviour on the device; both kinds are installed and resolved alike. */
  dependencyType: DependencyType;
}

/** One version of a component, as far as resolution cares. */
export interface CandidateVersion {
  version: string;
  /** The dependencies this version's recipe declares: dependency component name -> requirement. */
  dependencies: Record<string, Dependency>;
  /** Whether the recipe has a manifest matching the target device's platform. */
  supportsPlatform: boolean;
}

/**
 * Looks up every version of a component; `undefined` means no component by that name exists. Generic so a caller
 * can carry extra data (recipe, ARN) on its candidates and get the chosen one back from resolveCandidate.
 */
export type Catalog<C extends CandidateVersion = CandidateVersion> = (componentName: string) => C[] | undefined;

/**
 * Who requires what of one component: dependent -> npm range. A dependent is a group name (`thinggroup/G`,
 * `thing/T`) for a root, or the name of the component that declares the dependency.
 */
export type Requirements = Record<string, string>;

/** What each group roots: group name -> component name -> exact version that group deploys. */
export type RootsByGroup = Record<string, Record<string, string>>;
