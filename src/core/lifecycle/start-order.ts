// In which order a device starts and stops a set of components (semantics §6.1 ComponentDependencies): every
// dependency, HARD or SOFT, starts before its dependents and stops after them. Pure.
import type { DependencyType } from '../recipe/types.js';
import { findCycle } from '../resolution/cycles.js';
import { compareNames } from '../resolution/errors.js';

/** Component name -> its dependencies' names -> type. Dependencies outside the map are ignored. */
export type DependencyGraph = Record<string, Record<string, DependencyType>>;

/**
 * Components in start order: each after all of its dependencies, otherwise by name, so the order is stable.
 * Throws when the components depend on each other in a loop (resolution refuses such sets, so this is a bug guard).
 */
export function startOrder(graph: DependencyGraph): string[] {
  const names = Object.keys(graph).sort(compareNames);
  const dependenciesOf = (name: string) => Object.keys(graph[name] ?? {}).filter((d) => Object.hasOwn(graph, d)).sort(compareNames);
  const cycle = findCycle(names, dependenciesOf);
  if (cycle) throw new Error(`components depend on each other in a loop: ${cycle.join(' -> ')}`);
  const order: string[] = [];
  const placed = new Set<string>();
  const place = (name: string) => {
    if (placed.has(name)) return;
    placed.add(name);
    dependenciesOf(name).forEach(place);
    order.push(name);
  };
  names.forEach(place);
  return order;
}

/** Stop order: dependents before their dependencies. */
export const stopOrder = (graph: DependencyGraph): string[] => startOrder(graph).reverse();
