// A component's configuration as the Greengrass nucleus keeps it (semantics §3): a tree whose keys match
// case-insensitively (the first spelling written is kept) and whose every leaf carries the time it was last written,
// so that an older write never overrides a newer one. Objects are branches; everything else, arrays included, is a
// leaf value replaced whole. Pure: functions return new trees and never change the ones they are given.
import { isDeepStrictEqual } from 'node:util';
import { isMapping } from '../recipe/keys.js';

/** A leaf's value: anything but an object. Arrays are one value (the nucleus never merges into a list). */
export type ConfigLeafValue = string | number | boolean | null | unknown[];

export interface ConfigLeaf {
  kind: 'leaf';
  /** The key as first written. */
  name: string;
  value: ConfigLeafValue;
  /** Epoch milliseconds of the write that set this value; recipe defaults are written at DEFAULT_TIMESTAMP. */
  modtime: number;
}

export interface ConfigBranch {
  kind: 'branch';
  name: string;
  /** Folded key -> child. */
  children: Map<string, ConfigNode>;
}

export type ConfigNode = ConfigLeaf | ConfigBranch;

/** The root of a component's configuration. */
export type ConfigTree = ConfigBranch;

/** Path of keys from the root; matched case-insensitively. */
export type ConfigPath = readonly string[];

/** The nucleus writes recipe defaults "from the dawn of time" so that any real write wins over them. */
export const DEFAULT_TIMESTAMP = 1;

/**
 * How keys compare. The nucleus folds with Java's `equalsIgnoreCase`; `toLowerCase` gives the same classes for the
 * keys components use.
 */
export const foldKey = (key: string) => key.toLowerCase();

/**
 * Keys starting with `_` are the nucleus's private keys: it never returns them (`Topics.toPOJO`), so they do not
 * survive a deployment and are not shown to components.
 */
export const isPrivateKey = (key: string) => key.startsWith('_');

export const emptyTree = (): ConfigTree => ({ kind: 'branch', name: '', children: new Map() });

/** A tree holding `value` with every leaf written at `timestamp` (e.g. a configuration read from elsewhere). */
export function treeFromValue(value: Record<string, unknown>, timestamp: number): ConfigTree {
  const tree = emptyTree();
  mergeValueInPlace(tree, value, timestamp);
  return tree;
}

export function cloneTree(tree: ConfigTree): ConfigTree {
  return cloneNode(tree) as ConfigTree;
}

function cloneNode(node: ConfigNode): ConfigNode {
  if (node.kind === 'leaf') return { ...node, value: cloneValue(node.value) };
  return { kind: 'branch', name: node.name, children: new Map([...node.children].map(([k, c]) => [k, cloneNode(c)])) };
}

const cloneValue = <T>(v: T): T => (typeof v === 'object' && v !== null ? structuredClone(v) : v);

/** The node at `path` (the root for an empty path), or undefined. */
export function findNode(tree: ConfigTree, path: ConfigPath): ConfigNode | undefined {
  let node: ConfigNode = tree;
  for (const key of path) {
    if (node.kind !== 'branch') return undefined;
    const next: ConfigNode | undefined = node.children.get(foldKey(key));
    if (!next) return undefined;
    node = next;
  }
  return node;
}

/**
 * The configuration as plain JSON, as the nucleus hands it out (to interpolation, to components): keys in their
 * stored spelling, ordered case-insensitively, private (`_`) keys left out.
 */
export function configValue(tree: ConfigTree): Record<string, unknown> {
  return nodeValue(tree) as Record<string, unknown>;
}

/** The plain value at `path`, or undefined when nothing is there. */
export function valueAt(tree: ConfigTree, path: ConfigPath): unknown {
  const node = findNode(tree, path);
  return node === undefined ? undefined : nodeValue(node);
}

function nodeValue(node: ConfigNode): unknown {
  if (node.kind === 'leaf') return cloneValue(node.value);
  const visible = [...node.children.values()].filter((c) => !isPrivateKey(c.name));
  visible.sort((a, b) => compareFolded(a.name, b.name));
  // Object.fromEntries defines own properties, so a key like "__proto__" stays plain data.
  return Object.fromEntries(visible.map((c) => [c.name, nodeValue(c)]));
}

/** Java's String.CASE_INSENSITIVE_ORDER, which the nucleus sorts configuration keys with. */
export function compareFolded(a: string, b: string): number {
  const x = foldKey(a);
  const y = foldKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Writes. Each exported function clones first; the *InPlace helpers below mutate and are shared with update.ts.

/**
 * Merges `value` into the tree at `path` with write time `timestamp` (the nucleus's MERGE): objects merge key by key
 * and keep keys not mentioned; any other value replaces the leaf unless that leaf was written later than
 * `timestamp`; an object and a leaf replace each other whatever their times (the nucleus checks times only between
 * leaves). Writing an equal value changes nothing but may move the leaf's time forward.
 */
export function mergeIntoTree(tree: ConfigTree, value: unknown, timestamp: number, path: ConfigPath = []): ConfigTree {
  const out = cloneTree(tree);
  if (path.length === 0) {
    if (isMapping(value)) mergeValueInPlace(out, value, timestamp);
    return out;
  }
  const parent = branchAt(out, path.slice(0, -1));
  writeChild(parent, path[path.length - 1], value, timestamp, 'merge');
  return out;
}

/**
 * Makes the tree equal `value` where times allow (the nucleus's REPLACE, with which a deployment writes a
 * component's configuration): keys absent from `value` are removed whatever their times; present keys are merged as
 * in mergeIntoTree, so a leaf written later than `timestamp` keeps its value.
 */
export function replaceTree(tree: ConfigTree, value: Record<string, unknown>, timestamp: number): ConfigTree {
  const out = cloneTree(tree);
  updateBranch(out, value, timestamp, 'replace');
  return out;
}

/** The tree without the node at `path` (no-op when absent). Removal ignores times, as the nucleus's reset does. */
export function removeFromTree(tree: ConfigTree, path: ConfigPath): ConfigTree {
  const out = cloneTree(tree);
  removeInPlace(out, path);
  return out;
}

export function mergeValueInPlace(tree: ConfigBranch, value: Record<string, unknown>, timestamp: number): void {
  updateBranch(tree, value, timestamp, 'merge');
}

export function removeInPlace(tree: ConfigBranch, path: ConfigPath): void {
  if (path.length === 0) {
    tree.children.clear();
    return;
  }
  const parent = findNode(tree, path.slice(0, -1));
  if (parent?.kind === 'branch') parent.children.delete(foldKey(path[path.length - 1]));
}

type Behaviour = 'merge' | 'replace';

/** The branch at `path`, created where missing; a leaf in the way gives way to a branch. */
function branchAt(tree: ConfigBranch, path: ConfigPath): ConfigBranch {
  let node = tree;
  for (const key of path) {
    const existing = node.children.get(foldKey(key));
    if (existing?.kind === 'branch') {
      node = existing;
      continue;
    }
    const created: ConfigBranch = { kind: 'branch', name: key, children: new Map() };
    node.children.set(foldKey(key), created);
    node = created;
  }
  return node;
}

function updateBranch(branch: ConfigBranch, value: Record<string, unknown>, timestamp: number, how: Behaviour): void {
  const mentioned = new Set<string>();
  // Entries in document order: two spellings of one key both write it, the later value last.
  for (const [key, v] of Object.entries(value)) {
    mentioned.add(foldKey(key));
    writeChild(branch, key, v, timestamp, how);
  }
  if (how === 'replace') {
    for (const key of [...branch.children.keys()]) if (!mentioned.has(key)) branch.children.delete(key);
  }
}

function writeChild(branch: ConfigBranch, key: string, value: unknown, timestamp: number, how: Behaviour): void {
  const folded = foldKey(key);
  const existing = branch.children.get(folded);
  if (isMapping(value)) {
    let child: ConfigBranch;
    if (existing?.kind === 'branch') child = existing;
    else {
      // A leaf in the way is removed whatever its time (Topics.updateChild); the new branch takes this spelling.
      child = { kind: 'branch', name: key, children: new Map() };
      branch.children.set(folded, child);
    }
    updateBranch(child, value, timestamp, how);
    return;
  }
  const leafValue = toLeafValue(value);
  if (existing?.kind === 'leaf') {
    writeLeaf(existing, leafValue, timestamp);
    return;
  }
  // Absent, or a branch in the way (removed whatever its times): a new leaf.
  branch.children.set(folded, { kind: 'leaf', name: key, value: cloneValue(leafValue), modtime: timestamp });
}

/** Topic.withNewerValue: an older write loses; an equal value only moves the time forward. */
function writeLeaf(leaf: ConfigLeaf, value: ConfigLeafValue, timestamp: number): void {
  if (isDeepStrictEqual(leaf.value, value)) {
    if (timestamp > leaf.modtime) leaf.modtime = timestamp;
    return;
  }
  if (timestamp < leaf.modtime) return;
  leaf.value = cloneValue(value);
  leaf.modtime = timestamp;
}

/** JSON has no undefined; a value that is not JSON (a Date from YAML, say) is kept as its JSON form. */
function toLeafValue(value: unknown): ConfigLeafValue {
  if (value === undefined) return null;
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value;
  return JSON.parse(JSON.stringify(value)) as ConfigLeafValue;
}

// ---------------------------------------------------------------------------------------------------------------
// Durable form: plain JSON for the agent's state file. Keys keep their spelling; a leaf is `{t, v}`, a branch `{c}`.

export type DurableConfigNode = { t: number; v: ConfigLeafValue } | { c: DurableConfigTree };
export type DurableConfigTree = { [key: string]: DurableConfigNode };

export function serializeTree(tree: ConfigTree): DurableConfigTree {
  return Object.fromEntries([...tree.children.values()].map((c) => [c.name, serializeNode(c)]));
}

function serializeNode(node: ConfigNode): DurableConfigNode {
  return node.kind === 'leaf' ? { t: node.modtime, v: cloneValue(node.value) } : { c: serializeTree(node) };
}

/** Reads what serializeTree wrote; throws on anything else, naming the path. */
export function deserializeTree(json: unknown): ConfigTree {
  return readBranch(json, '', '');
}

function readBranch(json: unknown, name: string, at: string): ConfigBranch {
  if (!isMapping(json)) throw new Error(`configuration state at '${at || '/'}' is not an object`);
  const children = new Map<string, ConfigNode>();
  for (const [key, node] of Object.entries(json)) {
    const here = `${at}/${key}`;
    if (children.has(foldKey(key))) throw new Error(`configuration state at '${here}' repeats a key in another case`);
    children.set(foldKey(key), readNode(node, key, here));
  }
  return { kind: 'branch', name, children };
}

function readNode(json: unknown, name: string, at: string): ConfigNode {
  if (isMapping(json) && 'c' in json) return readBranch(json.c, name, at);
  if (isMapping(json) && 'v' in json && typeof json.t === 'number' && Number.isFinite(json.t) && !isMapping(json.v)) {
    return { kind: 'leaf', name, value: json.v as ConfigLeafValue, modtime: json.t };
  }
  throw new Error(`configuration state at '${at}' is neither a leaf {t, v} nor a branch {c}`);
}
