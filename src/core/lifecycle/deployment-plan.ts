// What a deployment (or its rollback) does to each component on the device (semantics §2.3, §3.6, §4.2): the pure
// half of the agent's plan-then-apply. The agent computes the target (versions, interpolated lifecycles, runWith,
// configuration) and hands it here with what runs now; the plan says which component to install, reinstall, restart,
// only tell of a configuration change, leave alone, or remove. Pure.
import { serviceConfigChange, type ServiceConfig } from '../configuration/changes.js';
import type { ComponentState } from './states.js';

/** One component as a deployment wants it. */
export interface PlannedComponent {
  /** The keys the nucleus keeps under `services.<name>` that decide a restart: version, interpolated lifecycle, runWith. */
  service: ServiceConfig;
  /** Whether the component's configuration tree changes (a change under `configuration` alone restarts nothing). */
  configurationChanged: boolean;
}

/** One component as it is on the device. */
export interface CurrentComponent {
  service: ServiceConfig;
  state: ComponentState;
}

export interface DeploymentPlan {
  /** New to the device. */
  install: string[];
  /** Stop, install again, start: a new version, an Install or posixUser change, or a component BROKEN before. */
  reinstall: string[];
  /** Stop and start: a lifecycle or Setenv change. */
  restart: string[];
  /** Only the configuration changes: the component is told (SubscribeToConfigurationUpdate), nothing restarts. */
  reconfigure: string[];
  unchanged: string[];
  /** In no target any more: stopped and removed once the deployment succeeded. */
  remove: string[];
  /** What the deployment waits for (§2.3): every component it installs, reinstalls or restarts. */
  tracked: string[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The steps from `current` to `target`. A component in both is compared by its service configuration with the
 * nucleus's rule (decideServiceChange); a BROKEN one is always reinstalled, because a deployment that includes it is
 * how a BROKEN component gets another chance (semantics §4.2 step 6).
 */
export function planDeployment(current: Readonly<Record<string, CurrentComponent>>, target: Readonly<Record<string, PlannedComponent>>): DeploymentPlan {
  const plan: DeploymentPlan = { install: [], reinstall: [], restart: [], reconfigure: [], unchanged: [], remove: [], tracked: [] };
  for (const name of Object.keys(target).sort(byName)) {
    const now = current[name];
    const wanted = target[name];
    if (now === undefined) {
      plan.install.push(name);
      continue;
    }
    const broken = now.state === 'BROKEN';
    const { action } = serviceConfigChange(name, now.service, wanted.service, { broken });
    if (broken || action === 'reinstall') plan.reinstall.push(name);
    else if (action === 'restart') plan.restart.push(name);
    else if (wanted.configurationChanged) plan.reconfigure.push(name);
    else plan.unchanged.push(name);
  }
  plan.remove = Object.keys(current).filter((name) => !Object.hasOwn(target, name)).sort(byName);
  plan.tracked = [...plan.install, ...plan.reinstall, ...plan.restart].sort(byName);
  return plan;
}
