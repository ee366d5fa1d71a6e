// Cycle finding over a directed graph of component names.
import { compareNames } from './errors.js';

/**
 * The first cycle reachable from `nodes` (visited in the given order), as `[A, B, A]`, rotated to start at its
 * smallest name so the same loop is always reported the same way; undefined when there is none.
 */
export function findCycle(nodes: Iterable<string>, next: (node: string) => Iterable<string>): string[] | undefined {
  const done = new Set<string>();
  const onPath = new Set<string>();
  const path: string[] = [];

  const visit = (node: string): string[] | undefined => {
    onPath.add(node);
    path.push(node);
    for (const to of next(node)) {
      if (onPath.has(to)) return path.slice(path.indexOf(to));
      if (!done.has(to)) {
        const found = visit(to);
        if (found) return found;
      }
    }
    path.pop();
    onPath.delete(node);
    done.add(node);
    return undefined;
  };

  for (const node of nodes) {
    if (done.has(node)) continue;
    const loop = visit(node);
    if (loop) {
      const start = loop.indexOf([...loop].sort(compareNames)[0]);
      const rotated = [...loop.slice(start), ...loop.slice(0, start)];
      return [...rotated, rotated[0]];
    }
  }
  return undefined;
}
