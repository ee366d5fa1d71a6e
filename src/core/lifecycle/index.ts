// Component lifecycle rules a device follows: states, retry/BROKEN, step timeouts, start order. Pure, no I/O.
export * from './states.js';
export { startOrder, stopOrder, type DependencyGraph } from './start-order.js';
export { planDeployment, type CurrentComponent, type DeploymentPlan, type PlannedComponent } from './deployment-plan.js';
