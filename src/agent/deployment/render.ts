// From recipes and configurations to what runs (semantics §6.1, §6.2): each component's manifest for this device, its
// lifecycle with the recipe variables rendered, its dependencies, and the service configuration the restart rule
// compares (§3.6). Used for a deployment's target and when the agent launches what it had installed.
import os from 'node:os';
import type { ServiceConfig } from '../../core/configuration/changes.js';
import { interpolateLifecycle, type ResolvedComponent as InterpolatedComponent } from '../../core/configuration/interpolate.js';
import { JsonPointerError } from '../../core/configuration/pointer.js';
import { DeploymentError } from '../../core/deployment-errors.js';
import type { DeviceRunWith } from '../../core/device-document/index.js';
import { selectLifecycle, selectManifest, type Artifact, type DependencyType, type Recipe, type ResolvedLifecycle } from '../../core/recipe/index.js';

/** The device's platform attributes, as ResolveComponentCandidates and manifest selection take them. */
export function devicePlatform(): Record<string, string> {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'aarch64', arm: 'arm', ia32: 'x86' };
  return { os: process.platform === 'win32' ? 'windows' : process.platform, architecture: arch[os.arch()] ?? os.arch() };
}

export interface ComponentInput {
  version: string;
  recipe: Recipe;
  /** The configuration resolved for this deployment (or as kept), as plain JSON. */
  configuration: Record<string, unknown>;
  runWith?: DeviceRunWith;
}

export interface RenderedComponent {
  version: string;
  lifecycle: ResolvedLifecycle;
  artifacts: Artifact[];
  dependencies: Record<string, DependencyType>;
  runWith?: DeviceRunWith;
  /** What decideServiceChange compares between the running and the wanted component. */
  service: ServiceConfig;
}

export interface RenderContext {
  root: string;
  thingName: string;
  platform: Record<string, string>;
}

/** Renders every component of a set (cross-component variables read the others' configurations). */
export function renderComponents(ctx: RenderContext, components: ReadonlyMap<string, ComponentInput>): Map<string, RenderedComponent> {
  const all: Record<string, InterpolatedComponent> = Object.fromEntries(
    [...components].map(([name, c]) => [name, { version: c.version, configuration: c.configuration }]),
  );
  const out = new Map<string, RenderedComponent>();
  for (const [name, c] of components) {
    const manifest = selectManifest(c.recipe, ctx.platform);
    if (!manifest) {
      throw new DeploymentError(
        `Component ${name} version ${c.version} has no manifest for this device's platform ${JSON.stringify(ctx.platform)}.`,
        ['COMPONENT_PACKAGE_LOADING_ERROR', 'RECIPE_MISSING_MANIFEST'],
      );
    }
    const selected = selectLifecycle(c.recipe, manifest);
    if (selected.steps.Bootstrap) {
      throw new DeploymentError(
        `Component ${name} version ${c.version} has a Bootstrap step; the meadow agent does not run Bootstrap (it would restart the agent or the device).`,
        ['COMPONENT_BOOTSTRAP_ERROR'],
      );
    }
    const dependencies = Object.fromEntries(
      Object.entries(c.recipe.ComponentDependencies ?? {}).map(([d, spec]) => [d, spec.DependencyType ?? 'HARD'] as const),
    );
    let lifecycle: ResolvedLifecycle;
    try {
      lifecycle = interpolateLifecycle(selected, {
        componentName: name,
        rootPath: ctx.root,
        thingName: ctx.thingName,
        dependencies: Object.keys(dependencies),
        components: all,
      }).value;
    } catch (e) {
      if (!(e instanceof JsonPointerError)) throw e;
      throw new DeploymentError(`Component ${name}: ${e.message}`, ['CONFIG_INTERPOLATE_ERROR']);
    }
    const service: ServiceConfig = { version: c.version, lifecycle, ...(c.runWith && { runWith: c.runWith }) };
    out.set(name, { version: c.version, lifecycle, artifacts: manifest.Artifacts ?? [], dependencies, runWith: c.runWith, service });
  }
  return out;
}
