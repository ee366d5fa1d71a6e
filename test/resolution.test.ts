// Component version resolution (src/core/resolution): pure functions, so no server here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  resolveCandidate,
  resolveDeployment,
  ResolutionError,
  type CandidateVersion,
  type Catalog,
  type Dependency,
  type ResolutionErrorKind,
} from '../src/core/resolution/index.js';

const hard = (versionRequirement: string): Dependency => ({ versionRequirement, dependencyType: 'HARD' });
const soft = (versionRequirement: string): Dependency => ({ versionRequirement, dependencyType: 'SOFT' });
const v = (version: string, dependencies: Record<string, Dependency> = {}, supportsPlatform = true): CandidateVersion => ({
  version,
  dependencies,
  supportsPlatform,
});
/** Versions listed in no particular order, so the tests also show that order in the catalog does not matter. */
const catalogOf =
  (components: Record<string, CandidateVersion[]>): Catalog =>
  (name) =>
    Object.hasOwn(components, name) ? components[name] : undefined;
const versionsOf = (name: string, ...versions: string[]) => ({ [name]: versions.map((x) => v(x)) });

/** Runs fn, which must throw a ResolutionError of `kind`, and returns that error. */
function failure(kind: ResolutionErrorKind, fn: () => unknown): ResolutionError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ResolutionError, `expected a ResolutionError, got ${e}`);
    assert.equal(e.kind, kind, e.message);
    return e;
  }
  assert.fail(`expected a ${kind} ResolutionError, but resolution succeeded`);
}

describe('resolveCandidate', () => {
  const lib = catalogOf(versionsOf('Lib', '3.10.0', '3.4.0', '3.11.0', '3.5.0', '3.7.0', '3.6.0', '3.8.0', '2.6.5'));

  it('picks the highest version in the intersection of overlapping ranges (3.5-3.10 and 3.7-3.10)', () => {
    const got = resolveCandidate('Lib', { 'thinggroup/A': '>=3.5.0 <=3.10.0', 'thinggroup/B': '>=3.7.0 <=3.10.0' }, lib);
    assert.equal(got.version, '3.10.0');
  });

  it('uses the intersection, not either range alone', () => {
    // Alone, A would pick 3.7.0 and B 3.11.0; together only 3.7.0 fits.
    assert.equal(resolveCandidate('Lib', { A: '>=3.5.0 <3.8.0', B: '>=3.7.0' }, lib).version, '3.7.0');
    // A requirement containing `||` still has to hold on its own.
    assert.equal(resolveCandidate('Lib', { A: '<3.6.0 || >=3.11.0', B: '>=3.0.0 <3.11.0' }, lib).version, '3.5.0');
  });

  it('fails when a third range does not overlap (adding 2.6-2.7), naming every dependent', () => {
    const e = failure('REQUIREMENTS_NOT_MET', () =>
      resolveCandidate('Lib', { 'thinggroup/C': '>=2.6.0 <=2.7.0', 'thinggroup/A': '>=3.5.0 <=3.10.0', 'thinggroup/B': '>=3.7.0 <=3.10.0' }, lib),
    );
    assert.equal(
      e.message,
      'Component Lib has no usable version that satisfies all of its version requirements. Component Lib version constraints: ' +
        'thinggroup/A requires >=3.5.0 <=3.10.0, thinggroup/B requires >=3.7.0 <=3.10.0, thinggroup/C requires >=2.6.0 <=2.7.0.',
    );
    assert.equal(e.component, 'Lib');
  });

  it('reports conflicting requirements with the exact message, dependents sorted', () => {
    const catalog = catalogOf(versionsOf('com.example.Lib', '1.0.0', '2.0.0'));
    const e = failure('REQUIREMENTS_NOT_MET', () =>
      resolveCandidate('com.example.Lib', { 'thinggroup/B': '>=2.0.0 <2.0.0', 'thinggroup/A': '=1.0.0' }, catalog),
    );
    assert.equal(
      e.message,
      'Component com.example.Lib has no usable version that satisfies all of its version requirements. ' +
        'Component com.example.Lib version constraints: thinggroup/A requires =1.0.0, thinggroup/B requires >=2.0.0 <2.0.0.',
    );
    assert.match(e.message, /no usable version/);
    assert.deepEqual(Object.entries(e.requirements), [
      ['thinggroup/A', '=1.0.0'],
      ['thinggroup/B', '>=2.0.0 <2.0.0'],
    ]);
  });

  it('picks the highest version overall when nothing constrains it', () => {
    assert.equal(resolveCandidate('Lib', {}, lib).version, '3.11.0');
  });

  it('skips versions without a manifest for the platform', () => {
    const catalog = catalogOf({ Lib: [v('1.0.0'), v('1.2.0', {}, false), v('1.1.0')] });
    assert.equal(resolveCandidate('Lib', { A: '^1.0.0' }, catalog).version, '1.1.0');
  });

  it('says "claim platform" when versions satisfy the requirements but none supports the platform', () => {
    // 1.0.0 supports the platform but is outside the range: the failure is about the platform, not the range.
    const catalog = catalogOf({ Lib: [v('1.0.0'), v('2.1.0', {}, false), v('2.0.0', {}, false)] });
    const e = failure('NO_PLATFORM_MATCH', () => resolveCandidate('Lib', { 'thinggroup/A': '>=2.0.0' }, catalog));
    assert.equal(
      e.message,
      'Component Lib has versions that satisfy its version requirements (2.1.0, 2.0.0), but none of them claim platform ' +
        'compatibility with this core device. Component Lib version constraints: thinggroup/A requires >=2.0.0.',
    );
    assert.match(e.message, /claim platform/);
  });

  it('reports a component that does not exist, and one with no versions at all', () => {
    const catalog = catalogOf({ Empty: [] });
    const missing = failure('NO_SUCH_COMPONENT', () => resolveCandidate('Nope', { 'thing/T': '=1.0.0' }, catalog));
    assert.equal(missing.message, 'Component Nope does not exist. Component Nope version constraints: thing/T requires =1.0.0.');
    assert.equal(missing.component, 'Nope');
    const empty = failure('REQUIREMENTS_NOT_MET', () => resolveCandidate('Empty', {}, catalog));
    assert.equal(
      empty.message,
      'Component Empty has no usable version that satisfies all of its version requirements. Component Empty version constraints: none.',
    );
  });

  it('rejects a requirement that is not a semver range, naming the dependent', () => {
    const e = failure('INVALID_REQUIREMENT', () => resolveCandidate('Lib', { Good: '^3.0.0', App: 'latest' }, lib));
    assert.equal(e.message, 'Component Lib has an invalid version requirement from App: "latest" is not an npm-style semver range.');
  });

  it("returns the catalog's own candidate object, so callers can carry recipes on it", () => {
    const withRecipe = { ...v('1.0.0'), recipe: '{"ComponentName":"Lib"}' };
    const got = resolveCandidate('Lib', { A: '1.0.0' }, (name) => (name === 'Lib' ? [withRecipe] : undefined));
    assert.equal(got, withRecipe);
    assert.equal(got.recipe, '{"ComponentName":"Lib"}');
  });

  describe('prerelease versions', () => {
    const catalog = catalogOf(versionsOf('Lib', '1.0.0', '1.1.0-beta.1', '1.1.0-beta.2', '2.0.0-rc.1'));

    it('treats a prerelease as an ordinary candidate when the range admits it by semver order', () => {
      // npm would refuse 1.1.0-beta.2 for >=1.0.0 (no prerelease on the same tuple); semver4j, like Greengrass, does not.
      assert.equal(resolveCandidate('Lib', { A: '>=1.0.0 <1.5.0' }, catalog).version, '1.1.0-beta.2');
      assert.equal(resolveCandidate('Lib', { A: '>=1.0.0' }, catalog).version, '2.0.0-rc.1');
      // 1.1.0-beta.2 < 1.1.0 and 2.0.0-rc.1 < 2.0.0, so explicit upper bounds admit them (as in semver4j).
      assert.equal(resolveCandidate('Lib', { A: '<1.1.0' }, catalog).version, '1.1.0-beta.2');
      assert.equal(resolveCandidate('Lib', { A: '>=1.0.0 <2.0.0' }, catalog).version, '2.0.0-rc.1');
    });

    it('orders prereleases below their release and by their identifiers', () => {
      const withRelease = catalogOf(versionsOf('Lib', '1.1.0-beta.2', '1.1.0', '1.1.0-beta.10'));
      assert.equal(resolveCandidate('Lib', { A: '^1.0.0' }, withRelease).version, '1.1.0');
      assert.equal(resolveCandidate('Lib', { A: '<1.1.0' }, withRelease).version, '1.1.0-beta.10');
    });

    it('matches an exact prerelease pin', () => {
      assert.equal(resolveCandidate('Lib', { 'thinggroup/A': '=1.1.0-beta.1' }, catalog).version, '1.1.0-beta.1');
    });

    it("keeps node-semver's caret bound: ^1.0.0 does not reach into 2.0.0 prereleases (meadow's choice)", () => {
      assert.equal(resolveCandidate('Lib', { A: '^1.0.0' }, catalog).version, '1.1.0-beta.2');
    });

    it('does not let an excluded prerelease through when it is the only version', () => {
      const only = catalogOf(versionsOf('Lib', '1.0.0-rc.1'));
      failure('REQUIREMENTS_NOT_MET', () => resolveCandidate('Lib', { A: '>=1.0.0' }, only));
    });
  });
});

describe('resolveDeployment', () => {
  it('resolves the closure of one group, installing both HARD and SOFT dependencies', () => {
    const catalog = catalogOf({
      App: [v('1.0.0', { Logger: soft('^2.0.0'), Runtime: hard('>=1.1.0') })],
      Logger: [v('2.0.0'), v('2.3.0'), v('3.0.0')],
      Runtime: [v('1.0.0'), v('1.4.0', { Base: hard('~1.0.0') })],
      Base: [v('1.0.0'), v('1.0.7'), v('1.1.0')],
    });
    const got = resolveDeployment({ 'thinggroup/G': { App: '1.0.0' } }, catalog);
    assert.deepEqual(
      [...got],
      [
        ['App', '1.0.0'],
        ['Base', '1.0.7'],
        ['Logger', '2.3.0'],
        ['Runtime', '1.4.0'],
      ],
    );
  });

  it('pins every root to the exact version its group deploys', () => {
    const catalog = catalogOf(versionsOf('App', '1.0.0', '1.0.1', '1.1.0'));
    assert.deepEqual([...resolveDeployment({ 'thinggroup/G': { App: '1.0.1' } }, catalog)], [['App', '1.0.1']]);
  });

  it('accepts the same component rooted by two groups at the same version', () => {
    const catalog = catalogOf(versionsOf('App', '1.0.0', '1.1.0'));
    const got = resolveDeployment({ 'thinggroup/A': { App: '1.0.0' }, 'thing/core-1': { App: '1.0.0' } }, catalog);
    assert.deepEqual([...got], [['App', '1.0.0']]);
  });

  it('fails when two groups root the same component at different versions, naming both groups', () => {
    const catalog = catalogOf(versionsOf('com.example.HelloWorld', '1.0.0', '1.0.1'));
    const e = failure('REQUIREMENTS_NOT_MET', () =>
      resolveDeployment({ 'thinggroup/B': { 'com.example.HelloWorld': '1.0.1' }, 'thinggroup/A': { 'com.example.HelloWorld': '1.0.0' } }, catalog),
    );
    assert.equal(
      e.message,
      'Component com.example.HelloWorld has no usable version that satisfies all of its version requirements. ' +
        'Component com.example.HelloWorld version constraints: thinggroup/A requires =1.0.0, thinggroup/B requires =1.0.1.',
    );
    assert.equal(e.component, 'com.example.HelloWorld');
    assert.deepEqual(e.requirements, { 'thinggroup/A': '=1.0.0', 'thinggroup/B': '=1.0.1' });
  });

  describe('ranges from two groups on a shared dependency', () => {
    const catalog = catalogOf({
      App1: [v('1.0.0', { Lib: hard('>=3.5.0 <=3.10.0') })],
      App2: [v('1.0.0', { Lib: hard('>=3.7.0 <=3.10.0') })],
      App3: [v('1.0.0', { Lib: hard('>=2.6.0 <=2.7.0') })],
      Lib: ['2.6.0', '3.5.0', '3.6.0', '3.8.0', '3.10.0', '3.11.0'].map((x) => v(x)),
    });

    it('overlapping ranges resolve to the highest version both allow', () => {
      const got = resolveDeployment({ 'thinggroup/A': { App1: '1.0.0' }, 'thinggroup/B': { App2: '1.0.0' } }, catalog);
      assert.equal(got.get('Lib'), '3.10.0');
    });

    it('a non-overlapping range from a third group fails, naming every dependent', () => {
      const e = failure('REQUIREMENTS_NOT_MET', () =>
        resolveDeployment({ 'thinggroup/A': { App1: '1.0.0' }, 'thinggroup/B': { App2: '1.0.0' }, 'thinggroup/C': { App3: '1.0.0' } }, catalog),
      );
      assert.equal(
        e.message,
        'Component Lib has no usable version that satisfies all of its version requirements. Component Lib version constraints: ' +
          'App1 requires >=3.5.0 <=3.10.0, App2 requires >=3.7.0 <=3.10.0, App3 requires >=2.6.0 <=2.7.0.',
      );
    });
  });

  it('combines a group pin on a component with another component depending on it', () => {
    const catalog = catalogOf({ App: [v('1.0.0', { Lib: hard('^1.0.0') })], Lib: [v('1.0.0'), v('1.2.0'), v('2.0.0')] });
    assert.equal(resolveDeployment({ 'thinggroup/A': { App: '1.0.0' }, 'thinggroup/B': { Lib: '1.0.0' } }, catalog).get('Lib'), '1.0.0');
    const e = failure('REQUIREMENTS_NOT_MET', () =>
      resolveDeployment({ 'thinggroup/A': { App: '1.0.0' }, 'thinggroup/B': { Lib: '2.0.0' } }, catalog),
    );
    assert.deepEqual(e.requirements, { App: '^1.0.0', 'thinggroup/B': '=2.0.0' });
  });

  it('resolves a diamond once, against both sides of it', () => {
    const catalog = catalogOf({
      Top: [v('1.0.0', { Left: hard('*'), Right: soft('*') })],
      Left: [v('1.0.0', { Bottom: hard('^1.0.0') })],
      Right: [v('1.0.0', { Bottom: hard('>=1.2.0') })],
      Bottom: ['1.0.0', '1.2.0', '1.5.0', '2.0.0'].map((x) => v(x)),
    });
    const got = resolveDeployment({ 'thinggroup/G': { Top: '1.0.0' } }, catalog);
    assert.deepEqual(
      [...got],
      [
        ['Bottom', '1.5.0'],
        ['Left', '1.0.0'],
        ['Right', '1.0.0'],
        ['Top', '1.0.0'],
      ],
    );
  });

  it('fails on a dependency that supports no version for the platform', () => {
    const catalog = catalogOf({ App: [v('1.0.0', { Native: hard('^1.0.0') })], Native: [v('1.0.0', {}, false), v('2.0.0')] });
    const e = failure('NO_PLATFORM_MATCH', () => resolveDeployment({ 'thinggroup/G': { App: '1.0.0' } }, catalog));
    assert.equal(e.component, 'Native');
    assert.match(e.message, /claim platform/);
    assert.deepEqual(e.requirements, { App: '^1.0.0' });
  });

  it('fails on a missing root and on a missing dependency', () => {
    const catalog = catalogOf({ App: [v('1.0.0', { Ghost: hard('^1.0.0') })] });
    const root = failure('NO_SUCH_COMPONENT', () => resolveDeployment({ 'thinggroup/G': { Nope: '1.0.0' } }, catalog));
    assert.equal(root.message, 'Component Nope does not exist. Component Nope version constraints: thinggroup/G requires =1.0.0.');
    const dep = failure('NO_SUCH_COMPONENT', () => resolveDeployment({ 'thinggroup/G': { App: '1.0.0' } }, catalog));
    assert.equal(dep.message, 'Component Ghost does not exist. Component Ghost version constraints: App requires ^1.0.0.');
  });

  it("withdraws what a component's old version required when its version changes", () => {
    // Walk order: Lib first resolves to 2.0.0 (requiring Helper ^2 and Extra); Mid then narrows Lib to ^1, so
    // Lib moves to 1.0.0. Helper's requirement set {>=1, ^2 (from Lib 2.0.0), <2} is unsatisfiable until Lib 2.0.0's
    // ^2 is withdrawn, and Extra, needed only by Lib 2.0.0, leaves the closure.
    const catalog = catalogOf({
      App: [v('1.0.0', { Lib: hard('*'), Helper: hard('>=1.0.0') })],
      Tool: [v('1.0.0', { Mid: hard('^1.0.0') })],
      Mid: [v('1.0.0', { Lib: hard('^1.0.0'), Helper: soft('<2.0.0') })],
      Lib: [v('1.0.0', { Helper: hard('^1.0.0') }), v('2.0.0', { Helper: hard('^2.0.0'), Extra: hard('*') })],
      Helper: [v('1.0.0'), v('1.5.0'), v('2.0.0')],
      Extra: [v('1.0.0')],
    });
    const got = resolveDeployment({ 'thinggroup/G': { App: '1.0.0', Tool: '1.0.0' } }, catalog);
    assert.deepEqual(
      [...got],
      [
        ['App', '1.0.0'],
        ['Helper', '1.5.0'],
        ['Lib', '1.0.0'],
        ['Mid', '1.0.0'],
        ['Tool', '1.0.0'],
      ],
    );
  });

  it('lets a component move back up once the requirement that held it down is withdrawn', () => {
    // Mid 2.0.0 pulls Lib down to ^1; then Deep narrows Mid to 1.0.0, which requires nothing, so Lib returns to 2.0.0.
    const catalog = catalogOf({
      App: [v('1.0.0', { Lib: hard('*'), Mid: hard('*') })],
      Tool: [v('1.0.0', { Deep: hard('*') })],
      Deep: [v('1.0.0', { Mid: hard('^1.0.0') })],
      Mid: [v('1.0.0'), v('2.0.0', { Lib: hard('^1.0.0') })],
      Lib: [v('1.0.0'), v('2.0.0')],
    });
    const got = resolveDeployment({ 'thinggroup/G': { App: '1.0.0', Tool: '1.0.0' } }, catalog);
    assert.equal(got.get('Mid'), '1.0.0');
    assert.equal(got.get('Lib'), '2.0.0');
  });

  it('reports a circular dependency, through HARD or SOFT edges, naming the cycle', () => {
    const catalog = catalogOf({
      App: [v('1.0.0', { B: hard('*') })],
      B: [v('1.0.0', { C: soft('*') })],
      C: [v('1.0.0', { B: hard('^1.0.0') })],
    });
    const e = failure('CIRCULAR_DEPENDENCY', () => resolveDeployment({ 'thinggroup/G': { App: '1.0.0' } }, catalog));
    assert.deepEqual(e.cycle, ['B', 'C', 'B']);
    assert.equal(e.message, 'Circular dependency detected: B -> C -> B.');
  });

  it('reports a component that depends on itself', () => {
    const catalog = catalogOf({ Loop: [v('1.0.0', { Loop: hard('^1.0.0') })] });
    const e = failure('CIRCULAR_DEPENDENCY', () => resolveDeployment({ 'thing/core-1': { Loop: '1.0.0' } }, catalog));
    assert.deepEqual(e.cycle, ['Loop', 'Loop']);
  });

  it('ignores a cycle that only a version not chosen would create', () => {
    const catalog = catalogOf({ A: [v('1.0.0', { B: hard('^1.0.0') })], B: [v('1.0.0'), v('2.0.0', { A: hard('*') })] });
    assert.deepEqual([...resolveDeployment({ 'thinggroup/G': { A: '1.0.0' } }, catalog)], [['A', '1.0.0'], ['B', '1.0.0']]);
  });

  it('reports versions that keep undoing each other as a cycle instead of looping forever', () => {
    // X@2 needs Y ^2; Y@2 needs X ^1; X@1 needs Y ^1; Y@1 needs nothing, which lets X go back to 2.
    const catalog = catalogOf({
      Root: [v('1.0.0', { X: hard('*'), Y: hard('*') })],
      X: [v('1.0.0', { Y: hard('^1.0.0') }), v('2.0.0', { Y: hard('^2.0.0') })],
      Y: [v('1.0.0'), v('2.0.0', { X: hard('^1.0.0') })],
    });
    const e = failure('CIRCULAR_DEPENDENCY', () => resolveDeployment({ 'thinggroup/G': { Root: '1.0.0' } }, catalog));
    assert.deepEqual(e.cycle, ['X', 'Y', 'X']);
    assert.match(e.message, /^Circular dependency detected: X -> Y -> X \(/);
  });

  it('handles prerelease pins and prerelease dependency versions', () => {
    const catalog = catalogOf({
      App: [v('2.0.0-rc.1', { Lib: hard('>=1.0.0 <2.0.0') }), v('2.0.0')],
      Lib: [v('1.0.0'), v('1.1.0-beta.1'), v('2.0.0')],
    });
    const got = resolveDeployment({ 'thinggroup/G': { App: '2.0.0-rc.1' } }, catalog);
    assert.deepEqual([...got], [['App', '2.0.0-rc.1'], ['Lib', '1.1.0-beta.1']]);
  });

  it('rejects a root version that is not an exact semantic version', () => {
    const catalog = catalogOf(versionsOf('App', '1.0.0'));
    const e = failure('INVALID_REQUIREMENT', () => resolveDeployment({ 'thinggroup/G': { App: '1.x' } }, catalog));
    assert.equal(e.message, 'thinggroup/G roots component App at "1.x", which is not a semantic version.');
  });

  it('gives the same answer whatever order groups, components and dependencies come in', () => {
    const components = {
      A: [v('1.0.0', { Z: hard('>=1.0.0'), M: soft('^1.0.0') })],
      B: [v('1.0.0', { M: hard('>=1.1.0'), Z: hard('<3.0.0') })],
      M: [v('1.0.0'), v('1.1.0'), v('1.3.0', { Z: hard('^1.0.0') })],
      Z: [v('1.0.0'), v('1.9.0'), v('2.5.0')],
    };
    const reversed = Object.fromEntries(Object.entries(components).reverse().map(([k, vs]) => [k, [...vs].reverse()]));
    const one = resolveDeployment({ 'thinggroup/A': { A: '1.0.0' }, 'thinggroup/B': { B: '1.0.0' } }, catalogOf(components));
    const two = resolveDeployment({ 'thinggroup/B': { B: '1.0.0' }, 'thinggroup/A': { A: '1.0.0' } }, catalogOf(reversed));
    assert.deepEqual([...one], [['A', '1.0.0'], ['B', '1.0.0'], ['M', '1.3.0'], ['Z', '1.9.0']]);
    assert.deepEqual([...two], [...one]);
  });

  it('returns an empty closure for no roots', () => {
    assert.deepEqual([...resolveDeployment({ 'thinggroup/G': {} }, catalogOf({}))], []);
  });
});
