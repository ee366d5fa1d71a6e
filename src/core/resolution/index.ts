// Component version resolution: pure functions, no I/O. See resolve-candidate.ts and resolve-deployment.ts.
export type { CandidateVersion, Catalog, Dependency, DependencyType, Requirements, RootsByGroup } from './types.js';
export { ResolutionError, type ResolutionErrorKind } from './errors.js';
export { resolveCandidate } from './resolve-candidate.js';
export { resolveDeployment } from './resolve-deployment.js';
