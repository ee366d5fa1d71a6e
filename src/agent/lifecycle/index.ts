// Runs components' lifecycles as processes on the device: one ComponentRunner per component, a ComponentSet to start
// and stop several in dependency order. See docs/architecture.md (agent).
export { ComponentRunner, type ComponentRunnerOptions, type ComponentSpec, type ResourceLimitsStatus, type StateChange } from './component-runner.js';
export { ComponentSet } from './component-set.js';
export { ComponentLog, DEFAULT_LOG_KEEP, DEFAULT_LOG_MAX_BYTES, type ComponentLogOptions } from './component-log.js';
export { CgroupLimits, type SystemResourceLimits } from './cgroups.js';
export { DEFAULT_KILL_GRACE_MS } from './step-process.js';
export { ProcessGroupRegistry } from './process-groups.js';
