// Unit tests of the pure configuration module (semantics §3, §5, §6.2): the timestamped case-insensitive tree, a
// deployment's reset + defaults + merge across successive deployments, runWith for the deployment's own roots,
// what a change does to the process, and recipe-variable interpolation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  changedPaths,
  componentPaths,
  configValue,
  decideServiceChange,
  DEFAULT_TIMESTAMP,
  deserializeTree,
  emptyTree,
  findNode,
  interpolateConfiguration,
  interpolateLifecycle,
  interpolateString,
  JsonPointerError,
  mergeIntoTree,
  ownEntryOf,
  ownUpdateOf,
  removeFromTree,
  replaceTree,
  resolveConfiguration,
  resolveRunWith,
  serializeTree,
  serviceConfigChange,
  treeFromValue,
  valueAt,
  type ConfigTree,
  type InterpolationContext,
} from '../src/core/configuration/index.js';
import type { DeviceComponent } from '../src/core/device-document/index.js';

type Obj = Record<string, unknown>;

const modtimeAt = (tree: ConfigTree, ...path: string[]) => {
  const node = findNode(tree, path);
  assert.equal(node?.kind, 'leaf', `no leaf at /${path.join('/')}`);
  return node.kind === 'leaf' ? node.modtime : NaN;
};

/** One deployment applied to `current`, returning the new tree (and the full result for assertions). */
const deploy = (current: ConfigTree | undefined, timestamp: number, defaults?: Obj, update?: { merge?: Obj; reset?: string[] }) =>
  resolveConfiguration({ current, defaults, update, timestamp });

describe('configuration tree', () => {
  it('matches keys case-insensitively and keeps the first spelling', () => {
    let tree = treeFromValue({ Port: 1 }, 100);
    tree = mergeIntoTree(tree, { port: 2, PORT2: 'x' }, 200);
    assert.deepEqual(configValue(tree), { Port: 2, PORT2: 'x' });
    assert.equal(valueAt(tree, ['pOrT']), 2);
  });

  it('lets the later of two spellings in one merge win, under the first spelling', () => {
    const tree = mergeIntoTree(emptyTree(), { Port: 1, port: 2 }, 100);
    assert.deepEqual(configValue(tree), { Port: 2 });
  });

  it('never lets an older write override a newer leaf; an equal time overrides', () => {
    const tree = treeFromValue({ a: 'new' }, 100);
    assert.equal(valueAt(mergeIntoTree(tree, { a: 'old' }, 99), ['a']), 'new');
    assert.equal(valueAt(mergeIntoTree(tree, { a: 'same time' }, 100), ['a']), 'same time');
    const newer = mergeIntoTree(tree, { a: 'newer' }, 101);
    assert.equal(valueAt(newer, ['a']), 'newer');
    assert.equal(modtimeAt(newer, 'a'), 101);
  });

  it('moves a leaf time forward for an equal value, and reports no change', () => {
    const tree = treeFromValue({ a: [1, { b: 2 }] }, 100);
    const bumped = mergeIntoTree(tree, { a: [1, { b: 2 }] }, 300);
    assert.equal(modtimeAt(bumped, 'a'), 300);
    assert.deepEqual(changedPaths(tree, bumped), []);
    assert.equal(modtimeAt(mergeIntoTree(tree, { a: [1, { b: 2 }] }, 50), 'a'), 100, 'an older equal write keeps the time');
  });

  it('replaces arrays whole', () => {
    const tree = mergeIntoTree(treeFromValue({ list: [1, 2, 3], objs: [{ a: 1 }] }, 100), { list: [4], objs: [{ b: 2 }] }, 200);
    assert.deepEqual(configValue(tree), { list: [4], objs: [{ b: 2 }] });
  });

  it('stores a merged null as a present key', () => {
    const tree = mergeIntoTree(treeFromValue({ a: 1 }, 100), { a: null, b: null }, 200);
    assert.deepEqual(configValue(tree), { a: null, b: null });
  });

  it('lets an object and a leaf replace each other whatever their times', () => {
    const scalarFirst = treeFromValue({ a: 1, b: { c: 1 } }, 500);
    const merged = mergeIntoTree(scalarFirst, { a: { x: 1 }, b: 'flat' }, 100);
    assert.deepEqual(configValue(merged), { a: { x: 1 }, b: 'flat' });
    assert.equal(modtimeAt(merged, 'a', 'x'), 100);
  });

  it('merges {} as nothing into an object, and as an empty object over a leaf', () => {
    const tree = treeFromValue({ o: { k: 1 }, s: 'v' }, 100);
    assert.deepEqual(configValue(mergeIntoTree(tree, { o: {}, s: {} }, 200)), { o: { k: 1 }, s: {} });
  });

  it('merges at a path, creating branches', () => {
    const tree = mergeIntoTree(treeFromValue({ A: { b: 1 } }, 100), { c: 2 }, 200, ['a', 'New']);
    assert.deepEqual(configValue(tree), { A: { b: 1, New: { c: 2 } } });
    assert.deepEqual(configValue(mergeIntoTree(tree, 5, 300, ['a', 'b'])), { A: { b: 5, New: { c: 2 } } });
  });

  it('replaces: removes keys not given (whatever their times) and keeps newer leaves', () => {
    const tree = treeFromValue({ keep: 'newer', gone: 'x', nested: { gone: 1, stay: 1 } }, 500);
    const replaced = replaceTree(tree, { keep: 'older', nested: { stay: 2 } }, 100);
    assert.deepEqual(configValue(replaced), { keep: 'newer', nested: { stay: 1 } });
  });

  it('removes by path case-insensitively, ignoring a missing path', () => {
    const tree = treeFromValue({ Outer: { Inner: 1, other: 2 } }, 100);
    assert.deepEqual(configValue(removeFromTree(tree, ['outer', 'INNER'])), { Outer: { other: 2 } });
    assert.deepEqual(configValue(removeFromTree(tree, ['nope', 'x'])), configValue(tree));
  });

  it('hands out keys ordered case-insensitively and hides private (_) keys', () => {
    const tree = treeFromValue({ b: 1, _secret: 2, A: { _x: 1, y: 2 }, c: 3 }, 100);
    assert.deepEqual(Object.keys(configValue(tree)), ['A', 'b', 'c']);
    assert.deepEqual(configValue(tree).A, { y: 2 });
  });

  it('round-trips through its durable JSON form, spelling, times and private keys included', () => {
    let tree = treeFromValue({ Port: 8080, _p: true, nested: { List: [1, 'a', null], empty: {} }, nil: null }, 100);
    tree = mergeIntoTree(tree, { nested: { later: 'x' } }, 200);
    const json = JSON.parse(JSON.stringify(serializeTree(tree)));
    assert.deepEqual(json.Port, { t: 100, v: 8080 });
    assert.deepEqual(json.nested.c.later, { t: 200, v: 'x' });
    const back = deserializeTree(json);
    assert.deepEqual(serializeTree(back), serializeTree(tree));
    assert.equal(modtimeAt(back, 'NESTED', 'later'), 200);
    assert.deepEqual(deserializeTree({}), emptyTree());
  });

  it('refuses a malformed durable form, naming the path', () => {
    assert.throws(() => deserializeTree([]), /at '\/' is not an object/);
    assert.throws(() => deserializeTree({ a: { c: { b: 1 } } }), /at '\/a\/b' is neither/);
    assert.throws(() => deserializeTree({ a: { v: 1 } }), /at '\/a' is neither/);
    assert.throws(() => deserializeTree({ a: { t: 1, v: 1 }, A: { t: 1, v: 2 } }), /at '\/A' repeats a key/);
  });

  it('never changes the tree it is given', () => {
    const tree = treeFromValue({ a: { b: [1] } }, 100);
    const before = JSON.stringify(serializeTree(tree));
    mergeIntoTree(tree, { a: { b: [2], c: 1 } }, 200);
    replaceTree(tree, {}, 200);
    removeFromTree(tree, ['a']);
    deploy(tree, 300, { z: 1 }, { reset: [''], merge: { q: 1 } });
    assert.equal(JSON.stringify(serializeTree(tree)), before);
  });
});

describe('a deployment\'s configuration (reset, defaults, merge)', () => {
  const defaults = { port: 8080, mode: 'safe', nested: { a: 1, b: 2 }, list: [1, 2] };

  it('starts a new component from its defaults, written at the deployment time', () => {
    const r = deploy(undefined, 1000, defaults);
    assert.deepEqual(r.tree && configValue(r.tree), { list: [1, 2], mode: 'safe', nested: { a: 1, b: 2 }, port: 8080 });
    assert.equal(r.changed, true);
    assert.equal(modtimeAt(r.tree, 'port'), 1000);
  });

  it('keeps the configuration when the deployment has no update, filling only new default keys', () => {
    const first = deploy(undefined, 1000, defaults, { merge: { port: 9000 } }).tree;
    const second = deploy(first, 2000, { ...defaults, port: 1, mode: 'new default', added: true, nested: { c: 3 } });
    assert.deepEqual(configValue(second.tree), { added: true, list: [1, 2], mode: 'safe', nested: { a: 1, b: 2, c: 3 }, port: 9000 });
    const third = deploy(second.tree, 3000, { only: 'this' });
    assert.deepEqual(configValue(third.tree), { ...configValue(second.tree), only: 'this' }, 'keys gone from the defaults stay');
    assert.equal(deploy(third.tree, 4000, { only: 'this' }).changed, false);
  });

  it('merges with the deployment time: objects deep, keys not mentioned kept', () => {
    const r = deploy(deploy(undefined, 1000, defaults).tree, 2000, defaults, { merge: { nested: { b: 20, z: { deep: true } }, mode: 'fast' } });
    assert.deepEqual(configValue(r.tree), { list: [1, 2], mode: 'fast', nested: { a: 1, b: 20, z: { deep: true } }, port: 8080 });
    assert.equal(modtimeAt(r.tree, 'nested', 'b'), 2000);
    assert.deepEqual(r.changes.map((p) => p.join('/')).sort(), ['mode', 'nested/b', 'nested/z/deep']);
  });

  it('resets "" to the defaults and stops reading further pointers', () => {
    const current = deploy(undefined, 1000, defaults, { merge: { port: 1, extra: 'x', nested: { a: 9 } } }).tree;
    const r = deploy(current, 2000, defaults, { reset: ['', 'not a pointer'], merge: { mode: 'm' } });
    assert.deepEqual(configValue(r.tree), { ...defaults, mode: 'm' });
  });

  it('resets a key back to its (new) default, or removes it when it has none', () => {
    const current = deploy(undefined, 1000, defaults, { merge: { port: 1, extra: 'x' } }).tree;
    const r = deploy(current, 2000, { ...defaults, port: 7000 }, { reset: ['/port', '/extra'] });
    assert.equal(valueAt(r.tree, ['port']), 7000);
    assert.equal(valueAt(r.tree, ['extra']), undefined);
  });

  it('resets a subtree, case-insensitively, and ignores a missing path', () => {
    const current = deploy(undefined, 1000, defaults, { merge: { nested: { a: 5, x: 6 } } }).tree;
    const r = deploy(current, 2000, defaults, { reset: ['/NESTED', '/no/such/key'] });
    assert.deepEqual(valueAt(r.tree, ['nested']), { a: 1, b: 2 });
    assert.deepEqual(r.ignoredResets, []);
  });

  it('resets a key and then merges the same key', () => {
    const current = deploy(undefined, 1000, defaults, { merge: { nested: { a: 5, x: 6 } } }).tree;
    const r = deploy(current, 2000, defaults, { reset: ['/nested'], merge: { nested: { x: 7 } } });
    assert.deepEqual(valueAt(r.tree, ['nested']), { a: 1, b: 2, x: 7 });
  });

  it('ignores a reset whose segment may be an array index, even on an object key', () => {
    const current = deploy(undefined, 1000, defaults, { merge: { list: [9, 9], ports: { '8080': 'web', '01': 'x' } } }).tree;
    const r = deploy(current, 2000, defaults, { reset: ['/list/0', '/ports/8080', '/ports/01', '/list/2147483648'] });
    assert.deepEqual(r.ignoredResets, ['/list/0', '/ports/8080']);
    assert.deepEqual(valueAt(r.tree, ['list']), [9, 9]);
    assert.deepEqual(valueAt(r.tree, ['ports']), { '8080': 'web' }, "'01' is not an index (leading zero), so it is reset");
  });

  it('resets a whole list', () => {
    const current = deploy(undefined, 1000, defaults, { merge: { list: [9] } }).tree;
    assert.deepEqual(valueAt(deploy(current, 2000, defaults, { reset: ['/list'] }).tree, ['list']), [1, 2]);
  });

  it('unescapes ~1 and ~0 in reset pointers', () => {
    const current = deploy(undefined, 1000, {}, { merge: { 'a/b': 1, 'm~n': 2, keep: 3 } }).tree;
    assert.deepEqual(configValue(deploy(current, 2000, {}, { reset: ['/a~1b', '/m~0n'] }).tree), { keep: 3 });
  });

  it('refuses a reset entry that is not a pointer', () => {
    assert.throws(() => deploy(undefined, 1000, {}, { reset: ['port'] }), JsonPointerError);
  });

  it('merges keys case-insensitively with the stored spelling', () => {
    const current = deploy(undefined, 1000, { Port: 1 }).tree;
    const r = deploy(current, 2000, { Port: 1 }, { merge: { PORT: 2 } });
    assert.deepEqual(configValue(r.tree), { Port: 2 });
  });

  it('merges null as a present key', () => {
    const r = deploy(deploy(undefined, 1000, defaults).tree, 2000, defaults, { merge: { mode: null } });
    assert.equal(valueAt(r.tree, ['mode']), null);
    assert.ok('mode' in configValue(r.tree));
  });

  it('replaces nested objects and scalars with each other through merge', () => {
    const current = deploy(undefined, 1000, defaults).tree;
    const r = deploy(current, 2000, defaults, { merge: { port: { http: 80 }, nested: 'flat' } });
    assert.deepEqual(valueAt(r.tree, ['port']), { http: 80 });
    assert.equal(valueAt(r.tree, ['nested']), 'flat');
    const back = deploy(r.tree, 3000, defaults, { merge: { port: 81 } });
    assert.equal(valueAt(back.tree, ['port']), 81);
  });

  it('lets a new default object replace a scalar of the same key (defaults only fill leaves)', () => {
    const current = deploy(undefined, 1000, { port: 8080 }).tree;
    assert.deepEqual(valueAt(deploy(current, 2000, { port: { http: 80 } }).tree, ['port']), { http: 80 });
  });

  it('never lets an older deployment override a newer write (other group, or a component\'s own update)', () => {
    let tree = deploy(undefined, 1000, defaults, { merge: { mode: 'from 1000' } }).tree;
    tree = mergeIntoTree(tree, { port: 1234 }, 5000); // e.g. the component's UpdateConfiguration at t=5000
    const older = deploy(tree, 3000, defaults, { merge: { mode: 'from 900', port: 1 } });
    assert.equal(valueAt(older.tree, ['port']), 1234);
    assert.equal(valueAt(older.tree, ['mode']), 'from 900', 'a value written at 1000 loses to the one at 3000');
    const stale = deploy(older.tree, 900, defaults, { merge: { mode: 'stale' } });
    assert.equal(valueAt(stale.tree, ['mode']), 'from 900');
    assert.equal(stale.changed, false);
  });

  it('does not reset a newer value back to its default, but does remove a newer key without one', () => {
    let tree = deploy(undefined, 1000, defaults).tree;
    tree = mergeIntoTree(tree, { port: 1234, own: 'x' }, 5000);
    const r = deploy(tree, 3000, defaults, { reset: ['/port', '/own'] });
    assert.equal(valueAt(r.tree, ['port']), 1234);
    assert.equal(r.resolved.port, 8080, 'what lifecycle scripts are interpolated with');
    assert.equal(valueAt(r.tree, ['own']), undefined);
  });

  it('drops private (_) keys on a deployment', () => {
    const tree = mergeIntoTree(deploy(undefined, 1000, defaults).tree, { _mine: 1 }, 2000);
    const r = deploy(tree, 3000, defaults);
    assert.equal(findNode(r.tree, ['_mine']), undefined);
    assert.equal(r.changed, true);
  });

  it('writes defaults at the dawn of time inside one resolution, so a merge of the same deployment wins', () => {
    assert.equal(DEFAULT_TIMESTAMP, 1);
    const r = deploy(undefined, 2, { a: 'default' }, { merge: { a: 'merged' } });
    assert.equal(valueAt(r.tree, ['a']), 'merged');
  });
});

describe('only the deployment\'s own roots take its configurationUpdate and runWith', () => {
  const deployment: { components: Record<string, DeviceComponent> } = {
    components: {
      'com.example.Listed': { version: '1.0.0', configurationUpdate: { merge: { a: 1 }, reset: [] } },
      'com.example.Bare': { version: '1.0.0' },
      'com.example.Run': { version: '1.0.0', runWith: { posixUser: 'app:app', systemResourceLimits: { memory: 1024, cpus: 0.5 } } },
      'com.example.Empty': { version: '1.0.0', runWith: { posixUser: '', windowsUser: '' } },
    },
  };
  const current = { posixUser: 'old', windowsUser: 'win', systemResourceLimits: { memory: 1 } };

  it('gives the update to listed components only, matching names exactly', () => {
    assert.deepEqual(ownUpdateOf(deployment, 'com.example.Listed'), { merge: { a: 1 }, reset: [] });
    assert.equal(ownUpdateOf(deployment, 'com.example.listed'), undefined);
    assert.equal(ownUpdateOf(deployment, 'com.example.Bare'), undefined);
    assert.equal(ownUpdateOf(deployment, 'com.example.Dependency'), undefined);
    assert.equal(ownEntryOf(deployment, 'toString'), undefined);
  });

  it('keeps the runWith of a component the deployment does not list', () => {
    assert.deepEqual(resolveRunWith(current, ownEntryOf(deployment, 'com.example.Dependency')), current);
    assert.equal(resolveRunWith(undefined, undefined), undefined);
  });

  it('resets runWith to the defaults when a listed component omits it', () => {
    assert.deepEqual(resolveRunWith(current, ownEntryOf(deployment, 'com.example.Bare')), {});
    assert.deepEqual(resolveRunWith(current, ownEntryOf(deployment, 'com.example.Empty')), {});
    assert.equal(resolveRunWith(undefined, ownEntryOf(deployment, 'com.example.Bare')), undefined);
  });

  it('takes a listed component\'s runWith member by member', () => {
    assert.deepEqual(resolveRunWith(current, ownEntryOf(deployment, 'com.example.Run')), {
      posixUser: 'app:app',
      systemResourceLimits: { memory: 1024, cpus: 0.5 },
    });
  });
});

describe('what a configuration change does to the process', () => {
  const name = 'com.example.App';
  const service = (over: Obj = {}) => ({
    version: '1.0.0',
    lifecycle: { Install: 'npm ci', Run: 'node app.js', Shutdown: 'echo bye', Setenv: { A: '1' } },
    runWith: { posixUser: 'app', systemResourceLimits: { memory: 1024 } },
    configuration: { port: 8080 },
    ...over,
  });

  it('does nothing for a change only under configuration', () => {
    assert.deepEqual(serviceConfigChange(name, service(), service({ configuration: { port: 1 } })), { action: 'none', reapplyResourceLimits: false });
    assert.equal(serviceConfigChange(name, service(), service()).action, 'none');
  });

  it('restarts for a lifecycle or Setenv change, reinstalling a BROKEN component instead', () => {
    const changed = service({ lifecycle: { Install: 'npm ci', Run: 'node app.js --v2', Shutdown: 'echo bye', Setenv: { A: '1' } } });
    assert.equal(serviceConfigChange(name, service(), changed).action, 'restart');
    assert.equal(serviceConfigChange(name, service(), changed, { broken: true }).action, 'reinstall');
    assert.equal(decideServiceChange(name, [['setenv', 'B']]).action, 'restart');
  });

  it('reinstalls for an install step, version or posixUser change (removal included)', () => {
    const install = service({ lifecycle: { Install: 'npm install', Run: 'node app.js', Shutdown: 'echo bye', Setenv: { A: '1' } } });
    assert.equal(serviceConfigChange(name, service(), install).action, 'reinstall');
    assert.equal(serviceConfigChange(name, service(), service({ version: '1.0.1' })).action, 'reinstall');
    assert.equal(serviceConfigChange(name, service(), service({ runWith: { systemResourceLimits: { memory: 1024 } } })).action, 'reinstall');
  });

  it('re-applies resource limits in place without a restart', () => {
    const d = serviceConfigChange(name, service(), service({ runWith: { posixUser: 'app', systemResourceLimits: { memory: 2048 } } }));
    assert.deepEqual(d, { action: 'none', reapplyResourceLimits: true });
  });

  it('ignores a change to the shutdown step', () => {
    const d = serviceConfigChange(name, service(), service({ lifecycle: { Install: 'npm ci', Run: 'node app.js', Shutdown: 'echo ciao', Setenv: { A: '1' } } }));
    assert.equal(d.action, 'none');
  });

  it('matches those names anywhere on the path, configuration keys and the component name included', () => {
    assert.equal(decideServiceChange(name, [['configuration', 'Version']]).action, 'reinstall');
    assert.equal(decideServiceChange(name, [['configuration', 'shutdown', 'install']]).action, 'none');
    assert.equal(decideServiceChange('Lifecycle', [['configuration', 'x']]).action, 'restart');
  });

  it('takes the strongest action over several changes', () => {
    assert.equal(decideServiceChange(name, [['lifecycle', 'Run'], ['version'], ['configuration', 'a']]).action, 'reinstall');
  });

  it('restarts when a configuration value used by a script changes, through re-interpolation', () => {
    const lifecycle = { Run: 'serve --port {configuration:/port}' };
    const render = (config: Obj) => ({
      ...service(),
      configuration: config,
      lifecycle: interpolateLifecycle(lifecycle, { ...ctx, componentName: name, components: { [name]: { version: '1.0.0', configuration: config } } }).value,
    });
    assert.equal(serviceConfigChange(name, render({ port: 80, other: 1 }), render({ port: 80, other: 2 })).action, 'none');
    assert.equal(serviceConfigChange(name, render({ port: 80 }), render({ port: 81 })).action, 'restart');
  });

  it('reports a removed branch by its own path and an added branch by its leaves', () => {
    const before = treeFromValue({ gone: { install: 1 }, kept: 1 }, 1);
    const after = treeFromValue({ kept: 1, added: { a: { b: 1 }, empty: {} }, leafNowBranch: 1 }, 1);
    assert.deepEqual(changedPaths(before, after), [['gone'], ['added', 'a', 'b'], ['leafNowBranch']]);
    const swapped = changedPaths(treeFromValue({ x: 1 }, 1), treeFromValue({ x: { y: 2 } }, 1));
    assert.deepEqual(swapped, [['x'], ['x', 'y']]);
  });
});

const ctx: InterpolationContext = {
  componentName: 'com.example.App',
  rootPath: '/greengrass/v2',
  thingName: 'MyCore',
  dependencies: ['com.example.Dep', 'com.example.Absent', 'com.example-dash.Dep'],
  components: {
    'com.example.App': {
      version: '1.2.3',
      configuration: {
        str: 'hello',
        num: 42,
        frac: 1.5,
        flag: true,
        nil: null,
        list: ['a', { z: 1, a: 2 }],
        obj: { b: 1, A: { d: 1, C: 2 } },
        'a/b': 'slash',
        Port: 8080,
        template: 'thing={iot:thingName} dep={com.example.Dep:configuration:/url}',
      },
    },
    'com.example.Dep': { version: '2.0.0', configuration: { url: 'http://dep', nested: { k: 'v' } } },
    'com.example.Other': { version: '3.0.0', configuration: { secret: 's' } },
    'com.example-dash.Dep': { version: '0.1.0', configuration: { x: 'dash' } },
  },
};
const render = (text: string, c: InterpolationContext = ctx) => interpolateString(text, c).value;

describe('recipe variables', () => {
  it('renders the system variables from the nucleus layout', () => {
    assert.equal(render('{artifacts:path}'), '/greengrass/v2/packages/artifacts/com.example.App/1.2.3');
    assert.equal(render('{artifacts:decompressedPath}'), '/greengrass/v2/packages/artifacts-unarchived/com.example.App/1.2.3');
    assert.equal(render('{work:path}'), '/greengrass/v2/work/com.example.App');
    assert.equal(render('{kernel:rootPath}'), '/greengrass/v2');
    assert.equal(render('{iot:thingName}'), 'MyCore');
    assert.deepEqual(componentPaths('/r', 'n', '1.0.0'), {
      artifacts: '/r/packages/artifacts/n/1.0.0',
      artifactsDecompressed: '/r/packages/artifacts-unarchived/n/1.0.0',
      work: '/r/work/n',
    });
  });

  it('renders configuration values: strings as is, scalars as text, null as "null"', () => {
    assert.equal(render('{configuration:/str} {configuration:/num} {configuration:/frac} {configuration:/flag} {configuration:/nil}'), 'hello 42 1.5 true null');
    assert.equal(render('{configuration:/list/0} {configuration:/obj/A/d} {configuration:/a~1b}'), 'a 1 slash');
  });

  it('renders objects and arrays as compact JSON in the nucleus key order', () => {
    assert.equal(render('{configuration:/obj}'), '{"A":{"C":2,"d":1},"b":1}');
    assert.equal(render('{configuration:/list}'), '["a",{"a":2,"z":1}]');
    assert.equal(render('{configuration:/obj/A}'), '{"C":2,"d":1}');
  });

  it('renders the whole configuration for an empty path', () => {
    const c = { ...ctx, components: { ...ctx.components, [ctx.componentName]: { version: '1.2.3', configuration: { b: 1, 10: 'x', 9: 'y' } } } };
    assert.equal(render('{configuration:}', c), '{"10":"x","9":"y","b":1}');
  });

  it('leaves a variable as written, and says why, when it has no value', () => {
    const cases: [string, RegExp][] = [
      ['{configuration:/missing}', /nothing at configuration path '\/missing'/],
      ['{configuration:/port}', /nothing at configuration path/], // lookups are case-sensitive (the key is Port)
      ['{configuration:/list/5}', /nothing at/],
      ['{configuration:/str/x}', /nothing at/],
      ['{foo:bar}', /unknown namespace 'foo'/],
      ['{Configuration:/str}', /unknown namespace 'Configuration'/],
      ['{artifacts:nope}', /no value for 'nope'/],
      ['{com.example.Other:configuration:/secret}', /com.example.Other is not a direct dependency of com.example.App/],
      ['{com.example.Absent:configuration:/x}', /com.example.Absent is not part of the deployment/],
      ['{com.example.Dep:bogus:x}', /unknown namespace 'bogus'/],
    ];
    for (const [text, reason] of cases) {
      const r = interpolateString(`run ${text} end`, ctx);
      assert.equal(r.value, `run ${text} end`, text);
      assert.equal(r.unresolved.length, 1, text);
      assert.equal(r.unresolved[0].variable, text);
      assert.match(r.unresolved[0].reason, reason);
    }
    const noThing = interpolateString('{iot:thingName}', { ...ctx, thingName: undefined });
    assert.equal(noThing.value, '{iot:thingName}');
  });

  it('refuses a configuration key that is not a JSON pointer', () => {
    assert.throws(() => render('{configuration:str}'), JsonPointerError);
  });

  it('leaves text that is not a variable alone', () => {
    for (const text of ['${HOME}', '{}', '{configuration:/a:b}', 'echo {a} {b:c:d:e}', 'awk \'{print $1}\'']) {
      assert.equal(render(text), text);
    }
  });

  it('renders a direct dependency\'s configuration and paths, with its own version', () => {
    assert.equal(render('{com.example.Dep:configuration:/url}'), 'http://dep');
    assert.equal(render('{com.example.Dep:configuration:/nested}'), '{"k":"v"}');
    assert.equal(render('{com.example.Dep:artifacts:path}'), '/greengrass/v2/packages/artifacts/com.example.Dep/2.0.0');
    assert.equal(render('{com.example.Dep:work:path}'), '/greengrass/v2/work/com.example.Dep');
    assert.equal(render('{com.example.Dep:iot:thingName}'), 'MyCore');
    assert.equal(render('{com.example-dash.Dep:configuration:/x}'), 'dash');
  });

  it('replaces every occurrence, and renders variables that a configuration value brings in for another component', () => {
    assert.equal(render('{iot:thingName}-{iot:thingName}'), 'MyCore-MyCore');
    assert.equal(render('{configuration:/template}'), 'thing={iot:thingName} dep=http://dep');
  });

  it('renders every string of a lifecycle, keeping other values and lists', () => {
    const lifecycle = {
      Setenv: { HOME_DIR: '{work:path}' },
      Install: { Script: 'cp {artifacts:path}/app .', RequiresPrivilege: true, Timeout: 60 },
      Run: 'node app.js --port {configuration:/Port}',
      linux: { Run: '{configuration:/str}' },
      odd: ['{configuration:/str}'],
    };
    const r = interpolateLifecycle(lifecycle, ctx);
    assert.deepEqual(r.value, {
      Setenv: { HOME_DIR: '/greengrass/v2/work/com.example.App' },
      Install: { Script: 'cp /greengrass/v2/packages/artifacts/com.example.App/1.2.3/app .', RequiresPrivilege: true, Timeout: 60 },
      Run: 'node app.js --port 8080',
      linux: { Run: 'hello' },
      odd: ['{configuration:/str}'],
    });
    assert.deepEqual(r.unresolved, []);
    assert.equal(lifecycle.Run, 'node app.js --port {configuration:/Port}', 'the input is not changed');
  });

  it('interpolates configuration values with everything but configuration variables', () => {
    const r = interpolateConfiguration(
      { dir: '{work:path}', dep: '{com.example.Dep:artifacts:path}', own: '{configuration:/str}', other: '{com.example.Dep:configuration:/url}', n: 1 },
      ctx,
    );
    assert.deepEqual(r.value, {
      dir: '/greengrass/v2/work/com.example.App',
      dep: '/greengrass/v2/packages/artifacts/com.example.Dep/2.0.0',
      own: '{configuration:/str}',
      other: '{com.example.Dep:configuration:/url}',
      n: 1,
    });
  });
});

describe('configuration and interpolation together, across deployments', () => {
  it('renders a script with the configuration each deployment resolves', () => {
    const name = 'com.example.App';
    const recipeDefaults = { greeting: 'hello', target: { name: 'world' } };
    const script = 'echo "{configuration:/greeting}, {configuration:/target/name}" > {work:path}/out.txt';
    const scriptFor = (resolved: Obj) =>
      interpolateString(script, { ...ctx, componentName: name, components: { [name]: { version: '1.0.0', configuration: resolved } } }).value;

    const first = deploy(undefined, 1000, recipeDefaults);
    assert.equal(scriptFor(first.resolved), 'echo "hello, world" > /greengrass/v2/work/com.example.App/out.txt');
    const second = deploy(first.tree, 2000, recipeDefaults, { merge: { target: { name: 'meadow' } } });
    assert.equal(scriptFor(second.resolved), 'echo "hello, meadow" > /greengrass/v2/work/com.example.App/out.txt');
    const third = deploy(second.tree, 3000, recipeDefaults, { reset: ['/target'] });
    assert.equal(scriptFor(third.resolved), 'echo "hello, world" > /greengrass/v2/work/com.example.App/out.txt');
  });
});
