// The agent's component lifecycle runner with real shell scripts in temporary folders: states and their order, the
// retry rule up to BROKEN, timeouts, Skipif, Setenv precedence, stopping (Shutdown, then the whole process group),
// per-component logs with rotation, runWith user, resource limits, and dependency order. No store, no server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ComponentRunner, ComponentSet, ComponentLog, CgroupLimits, type ComponentRunnerOptions, type ComponentSpec, type StateChange } from '../src/agent/lifecycle/index.js';
import { ContinualErrors, startOrder, stopOrder } from '../src/core/lifecycle/index.js';
import { selectLifecycle, selectManifest, toRecipe } from '../src/core/recipe/index.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'meadow-lifecycle-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
const runners: ComponentRunner[] = [];
after(async () => {
  await Promise.all(runners.map((r) => r.close()));
});

let counter = 0;
/** A fresh folder for one test. */
const freshDir = () => {
  const dir = path.join(tmpRoot, `t${++counter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};

/** A component spec from a recipe Lifecycle (run through the real recipe parser and lifecycle selection). */
function componentSpec(name: string, lifecycle: Record<string, unknown>, dir: string, extra: Partial<ComponentSpec> = {}): ComponentSpec {
  const recipe = toRecipe({
    RecipeFormatVersion: '2020-01-25',
    ComponentName: name,
    ComponentVersion: '1.0.0',
    Manifests: [{ Platform: { os: 'linux' }, Lifecycle: lifecycle }],
  });
  const manifest = selectManifest(recipe, { os: 'linux' })!;
  return { name, lifecycle: selectLifecycle(recipe, manifest), workDir: path.join(dir, 'work', name), ...extra };
}

/** A runner with short timeouts, recording its state changes. */
function runner(spec: ComponentSpec, dir: string, options: Partial<ComponentRunnerOptions> = {}) {
  const r = new ComponentRunner(spec, {
    logDir: path.join(dir, 'logs'),
    killGraceMs: 300,
    defaultTimeoutsMs: { Install: 5000, Startup: 5000, Shutdown: 3000, Recover: 3000 },
    cgroups: null,
    // A root agent needs a default user (the nucleus's runWithDefault); ignored when the tests do not run as root.
    defaultPosixUser: 'root',
    ...options,
  });
  const changes: StateChange[] = [];
  r.onStateChange((c) => changes.push(c));
  runners.push(r);
  return { r, changes, states: () => changes.map((c) => c.to) };
}

const read = (file: string) => fs.readFileSync(file, 'utf8');

/** A process that is gone or a zombie no longer runs anything. */
function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2)[0]);
  } catch {
    return false;
  }
}

describe('ComponentRunner', () => {
  it('Install then Run: RUNNING as soon as Run starts, FINISHED after it exits 0, output in the component log', async () => {
    const dir = freshDir();
    const spec = componentSpec('com.example.Once', { Install: 'echo installing; touch installed', Run: 'sleep 0.2; echo run output' }, dir);
    const { r, states } = runner(spec, dir);
    r.start();
    assert.equal(await r.waitForState(['RUNNING'], 5000), 'RUNNING');
    assert.ok(fs.existsSync(path.join(spec.workDir, 'installed')), 'Install ran in the work folder');
    await r.waitForState(['FINISHED'], 5000);
    assert.deepEqual(states(), ['INSTALLED', 'STARTING', 'RUNNING', 'STOPPING', 'FINISHED']);
    const log = read(r.logFile);
    assert.match(log, /\[Install stdout\] installing/);
    assert.match(log, /\[Run stdout\] run output/);
    assert.match(log, /RUNNING -> STOPPING/);
  });

  it('Startup exiting 0 makes the component RUNNING, and it stays RUNNING', async () => {
    const dir = freshDir();
    const spec = componentSpec('com.example.Daemon', { Startup: 'sleep 0.1; echo up' }, dir);
    const { r, states } = runner(spec, dir);
    r.start();
    await r.waitForState(['RUNNING'], 5000);
    assert.deepEqual(states(), ['INSTALLED', 'STARTING', 'RUNNING']);
    assert.equal(r.state, 'RUNNING');
    await r.stop();
    assert.deepEqual(states().slice(-2), ['STOPPING', 'FINISHED']);
  });

  it('a failing Startup is ERRORED, recovered and retried, and BROKEN at the third error; reinstall gives a new chance', async () => {
    const dir = freshDir();
    const counts = path.join(dir, 'startups');
    const recovered = path.join(dir, 'recovered');
    const spec = componentSpec('com.example.Failing', { Startup: `echo try >> ${counts}; exit 3`, Recover: `echo r >> ${recovered}` }, dir);
    const { r, changes, states } = runner(spec, dir);
    r.start();
    await r.waitForState(['BROKEN'], 10000);
    assert.deepEqual(states(), [
      'INSTALLED', 'STARTING', 'ERRORED', 'STOPPING', 'INSTALLED', 'STARTING', 'ERRORED', 'STOPPING', 'INSTALLED', 'STARTING', 'BROKEN',
    ]);
    assert.equal(read(counts).trim().split('\n').length, 3, 'Startup ran three times');
    assert.equal(read(recovered).trim().split('\n').length, 2, 'Recover ran after each ERRORED (not for BROKEN)');
    const errored = changes.filter((c) => c.to === 'ERRORED' || c.to === 'BROKEN');
    assert.ok(errored.every((c) => c.statusCode === 'STARTUP_ERROR' && /exit code 3/.test(c.reason)), JSON.stringify(errored));

    // BROKEN stays BROKEN on start(); a reinstall (what a deployment does) with a fixed script runs it again.
    r.start();
    assert.equal(r.state, 'BROKEN');
    r.update(componentSpec('com.example.Failing', { Startup: 'true' }, dir));
    r.reinstall();
    await r.waitForState(['RUNNING'], 5000);
    assert.deepEqual(states().slice(11), ['NEW', 'INSTALLED', 'STARTING', 'RUNNING']);
  });

  it('a Run that keeps failing is BROKEN at the third error (RUN_ERROR), even though it was RUNNING each time', async () => {
    const dir = freshDir();
    const spec = componentSpec('com.example.Crashing', { Run: 'exit 1' }, dir);
    const { r, changes } = runner(spec, dir);
    r.start();
    await r.waitForState(['BROKEN'], 10000);
    const bad = changes.filter((c) => c.to === 'ERRORED' || c.to === 'BROKEN');
    assert.deepEqual(bad.map((c) => [c.from, c.to, c.statusCode]), [
      ['RUNNING', 'ERRORED', 'RUN_ERROR'],
      ['RUNNING', 'ERRORED', 'RUN_ERROR'],
      ['RUNNING', 'BROKEN', 'RUN_ERROR'],
    ]);
  });

  it("Install past its recipe Timeout is ERRORED with INSTALL_TIMEOUT and its process group is killed", async () => {
    const dir = freshDir();
    const pidFile = path.join(dir, 'install.pid');
    const spec = componentSpec('com.example.SlowInstall', { Install: { Script: `echo $$ > ${pidFile}; sleep 30`, Timeout: 1 } }, dir);
    // A long default: the recipe's Timeout (1 s) is what must apply.
    const { r, changes } = runner(spec, dir, { defaultTimeoutsMs: { Install: 60000 } });
    const started = Date.now();
    r.start();
    await r.waitForState(['ERRORED'], 5000);
    assert.ok(Date.now() - started < 4000);
    const errored = changes.find((c) => c.to === 'ERRORED')!;
    assert.deepEqual([errored.from, errored.statusCode], ['NEW', 'INSTALL_TIMEOUT']);
    assert.equal(processAlive(Number(read(pidFile))), false, 'the timed-out install script is gone');
    await r.stop();
  });

  it('Skipif: `exists` skips a step when the file exists, `onpath` when the executable is on PATH, `!` negates', async () => {
    const dir = freshDir();
    const marker = path.join(dir, 'marker');
    fs.writeFileSync(marker, '');
    const spec = componentSpec(
      'com.example.Skips',
      {
        Install: { Script: 'touch installed', Skipif: `exists ${marker}` },
        Startup: { Script: 'touch started', Skipif: 'onpath meadow-no-such-command' },
        Shutdown: { Script: 'touch shut-down', Skipif: '!onpath sh' },
      },
      dir,
    );
    const { r } = runner(spec, dir);
    r.start();
    await r.waitForState(['RUNNING'], 5000);
    await r.stop();
    assert.equal(fs.existsSync(path.join(spec.workDir, 'installed')), false, 'Install skipped: the marker exists');
    assert.equal(fs.existsSync(path.join(spec.workDir, 'started')), true, 'Startup ran: the command is not on PATH');
    assert.equal(fs.existsSync(path.join(spec.workDir, 'shut-down')), true, 'Shutdown ran: sh is on PATH, negated');
  });

  it('a skipped Run leaves the component RUNNING (as the nucleus does)', async () => {
    const dir = freshDir();
    const spec = componentSpec('com.example.SkippedRun', { Run: { Script: 'exit 1', Skipif: 'onpath sh' } }, dir);
    const { r, states } = runner(spec, dir);
    r.start();
    await r.waitForState(['RUNNING'], 5000);
    assert.deepEqual(states(), ['INSTALLED', 'STARTING', 'RUNNING']);
  });

  it('Setenv: step over lifecycle over the agent variables over the inherited environment', async () => {
    const dir = freshDir();
    const spec = componentSpec(
      'com.example.Env',
      {
        Setenv: { B: 'lifecycle', C: 'lifecycle' },
        Run: { Script: 'echo "$A $B $C $D" > env.txt', Setenv: { C: 'step' } },
      },
      dir,
      { env: { A: 'agent', B: 'agent', C: 'agent' } },
    );
    const { r } = runner(spec, dir, { baseEnv: { PATH: process.env.PATH, A: 'inherited', D: 'inherited' } });
    r.start();
    await r.waitForState(['FINISHED'], 5000);
    assert.equal(read(path.join(spec.workDir, 'env.txt')).trim(), 'agent lifecycle step inherited');
  });

  it('stop runs Shutdown, then kills the whole process group, including a child that ignores SIGTERM', async () => {
    const dir = freshDir();
    const spec = componentSpec(
      'com.example.Stubborn',
      {
        Run: `sh -c 'trap "" TERM; while true; do sleep 0.05; done' & echo $! > child.pid; wait`,
        Shutdown: 'touch shutdown-ran',
      },
      dir,
    );
    const { r, states } = runner(spec, dir);
    r.start();
    await r.waitForState(['RUNNING'], 5000);
    const pidFile = path.join(spec.workDir, 'child.pid');
    while (!fs.existsSync(pidFile) || read(pidFile).trim() === '') await new Promise((res) => setImmediate(res));
    const child = Number(read(pidFile));
    assert.equal(processAlive(child), true);
    await r.stop();
    assert.deepEqual(states().slice(-2), ['STOPPING', 'FINISHED']);
    assert.ok(fs.existsSync(path.join(spec.workDir, 'shutdown-ran')), 'Shutdown ran');
    assert.equal(processAlive(child), false, 'the child ignoring SIGTERM was killed');
  });

  it('runWith.posixUser: a root agent runs the steps as that user; any other agent as itself', async () => {
    const dir = freshDir();
    const spec = componentSpec('com.example.User', { Run: 'id -u > uid.txt' }, dir, { runWith: { posixUser: 'nobody' } });
    fs.mkdirSync(spec.workDir, { recursive: true });
    const { r } = runner(spec, dir);
    r.start();
    await r.waitForState(['FINISHED', 'BROKEN'], 5000);
    const expected = process.getuid!() === 0 ? Number(execId('nobody')) : process.getuid!();
    assert.equal(Number(read(path.join(spec.workDir, 'uid.txt'))), expected);

    // Without runWith.posixUser and without a default user, a root agent has nobody to run as.
    const noUser = componentSpec('com.example.NoUser', { Install: 'true', Run: 'true' }, dir);
    const { r: r2, changes } = runner(noUser, dir, { defaultPosixUser: undefined });
    r2.start();
    const end = await r2.waitForState(['FINISHED', 'BROKEN'], 5000);
    if (process.getuid!() === 0) {
      assert.equal(end, 'BROKEN');
      assert.deepEqual([...new Set(changes.filter((c) => c.to === 'ERRORED' || c.to === 'BROKEN').map((c) => c.statusCode))], ['INSTALL_MISSING_DEFAULT_RUNWITH']);
    } else assert.equal(end, 'FINISHED');
  });

  it('systemResourceLimits are written to the component cgroup (v2 layout), or reported unsupported', async () => {
    const dir = freshDir();
    const cgroupRoot = path.join(dir, 'cgroup');
    fs.mkdirSync(path.join(cgroupRoot, 'meadow'), { recursive: true });
    for (const d of [cgroupRoot, path.join(cgroupRoot, 'meadow')]) fs.writeFileSync(path.join(d, 'cgroup.controllers'), 'cpuset cpu io memory pids');
    const limits = { systemResourceLimits: { memory: 2048, cpus: 0.5 } };
    const spec = componentSpec('com.example.Limited', { Startup: 'true' }, dir, { runWith: limits });
    const { r } = runner(spec, dir, { cgroups: new CgroupLimits(cgroupRoot) });
    r.start();
    await r.waitForState(['RUNNING'], 5000);
    const group = path.join(cgroupRoot, 'meadow', 'com.example.Limited');
    assert.deepEqual(r.resourceLimits, { status: 'APPLIED', cgroup: group });
    assert.equal(read(path.join(group, 'memory.max')), String(2048 * 1024));
    assert.equal(read(path.join(group, 'cpu.max')), '50000 100000');
    assert.match(read(path.join(group, 'cgroup.procs')), /^\d+$/);
    assert.equal(read(path.join(cgroupRoot, 'cgroup.subtree_control')), '+cpu +memory');

    const other = componentSpec('com.example.Unlimited', { Startup: 'true' }, dir, { runWith: limits });
    const { r: r2 } = runner(other, dir, { cgroups: new CgroupLimits(path.join(dir, 'no-cgroup-v2')) });
    r2.start();
    await r2.waitForState(['RUNNING'], 5000);
    assert.equal(r2.resourceLimits.status, 'UNSUPPORTED');
    assert.match(read(r2.logFile), /systemResourceLimits not applied: cgroup v2 is not mounted/);
  });
});

function execId(user: string): string {
  return fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`))!
    .split(':')[2];
}

describe('component logs', () => {
  it('rotate by size: .log, .log.1 .. .log.<keep>, oldest dropped, no file over the limit', () => {
    const dir = freshDir();
    const log = new ComponentLog(dir, 'com.example.Chatty', { maxBytes: 300, keep: 2 });
    for (let i = 0; i < 40; i++) log.line('Run stdout', `line ${i} ${'x'.repeat(20)}`);
    log.close();
    const files = fs.readdirSync(dir).sort();
    assert.deepEqual(files, ['com.example.Chatty.log', 'com.example.Chatty.log.1', 'com.example.Chatty.log.2']);
    for (const f of files) assert.ok(fs.statSync(path.join(dir, f)).size <= 300, f);
    assert.match(read(path.join(dir, 'com.example.Chatty.log')), /line 39 /);
    assert.doesNotMatch(files.map((f) => read(path.join(dir, f))).join(''), /line 0 /, 'the oldest lines were rotated away');
  });
});

describe('dependency order', () => {
  it('startOrder puts dependencies first (stable by name); stopOrder is the reverse; a loop is refused', () => {
    const graph = { A: { B: 'HARD' as const }, B: { C: 'SOFT' as const }, C: {}, D: { Outside: 'HARD' as const } };
    assert.deepEqual(startOrder(graph), ['C', 'B', 'A', 'D']);
    assert.deepEqual(stopOrder(graph), ['D', 'A', 'B', 'C']);
    assert.throws(() => startOrder({ A: { B: 'HARD' }, B: { A: 'SOFT' } }), /loop: A -> B -> A/);
  });

  it('a HARD dependent starts after its dependency is RUNNING, a SOFT one does not wait; stopping goes dependents first', async () => {
    const dir = freshDir();
    const order = path.join(dir, 'order.txt');
    const spec = (name: string, startup: string) =>
      componentSpec(name, { Startup: `${startup}; echo start-${name} >> ${order}`, Shutdown: `echo stop-${name} >> ${order}` }, dir);
    const base = runner(spec('Base', 'sleep 0.4'), dir).r;
    const hard = runner(spec('Hard', 'true'), dir).r;
    const soft = runner(spec('Soft', 'true'), dir).r;
    const set = new ComponentSet([hard, soft, base], { Hard: { Base: 'HARD' }, Soft: { Base: 'SOFT' }, Base: {} });
    set.startAll();
    const settled = await set.settled();
    assert.deepEqual(Object.fromEntries(settled), { Hard: 'RUNNING', Soft: 'RUNNING', Base: 'RUNNING' });
    assert.deepEqual(read(order).trim().split('\n'), ['start-Soft', 'start-Base', 'start-Hard']);
    fs.writeFileSync(order, '');
    await set.stopAll();
    const stops = read(order).trim().split('\n');
    assert.equal(stops.at(-1), 'stop-Base', `Base stops last: ${stops}`);
    assert.deepEqual([...stops].sort(), ['stop-Base', 'stop-Hard', 'stop-Soft']);
  });

  it('a HARD dependent restarts when its dependency errors; a SOFT one keeps running', async () => {
    const dir = freshDir();
    const base = runner(componentSpec('Base2', { Startup: 'true' }, dir), dir).r;
    const hard = runner(componentSpec('Hard2', { Startup: 'true' }, dir), dir);
    const soft = runner(componentSpec('Soft2', { Startup: 'true' }, dir), dir);
    const set = new ComponentSet([base, hard.r, soft.r], { Hard2: { Base2: 'HARD' }, Soft2: { Base2: 'SOFT' } });
    set.startAll();
    await set.settled();
    const hardBefore = hard.changes.length;
    const softBefore = soft.changes.length;
    assert.equal(base.reportState('ERRORED', 'component said so'), true);
    await base.waitForState(['RUNNING'], 5000);
    await hard.r.waitForState(['RUNNING'], 5000);
    assert.ok(hard.states().slice(hardBefore).includes('STOPPING'), `Hard2 restarted: ${hard.states()}`);
    assert.equal(soft.changes.length, softBefore, 'Soft2 did not change state');
  });
});

describe('lifecycle rules (pure)', () => {
  it('errors from one state add up to BROKEN unless a success from that state or the reset time intervenes', () => {
    const e = new ContinualErrors(1000);
    assert.equal(e.next('STARTING', 'ERRORED', 0), 'ERRORED');
    assert.equal(e.next('STARTING', 'ERRORED', 10), 'ERRORED');
    assert.equal(e.next('STARTING', 'RUNNING', 20), 'RUNNING'); // success from STARTING resets its count
    assert.equal(e.next('STARTING', 'ERRORED', 30), 'ERRORED');
    assert.equal(e.next('STARTING', 'ERRORED', 40), 'ERRORED');
    assert.equal(e.next('STARTING', 'ERRORED', 1040), 'ERRORED', 'an error a reset time after the previous starts over');
    assert.equal(e.next('STARTING', 'ERRORED', 1050), 'ERRORED');
    assert.equal(e.next('STARTING', 'ERRORED', 1060), 'BROKEN');
    assert.equal(e.next('STOPPING', 'ERRORED', 1070), 'ERRORED', 'errors while stopping never count');
  });

  it('selectLifecycle: the manifest Lifecycle wins; else the recipe Lifecycle filtered by Selections, then `all`', () => {
    const recipe = toRecipe({
      RecipeFormatVersion: '2020-01-25',
      ComponentName: 'com.example.Sel',
      ComponentVersion: '1.0.0',
      Manifests: [
        { Platform: { os: 'windows' }, Lifecycle: { Run: 'win' } },
        { Platform: { os: 'linux' }, Selections: ['special', 'linux'] },
        { Platform: { os: 'darwin' } },
      ],
      Lifecycle: {
        linux: { Setenv: { X: '1' }, Run: { Script: 'linux-run', Timeout: 5, RequiresPrivilege: true } },
        all: { Run: 'generic' },
      },
    });
    assert.deepEqual(selectLifecycle(recipe, recipe.Manifests![0]), { setenv: {}, steps: { Run: { script: 'win', requiresPrivilege: false, setenv: {} } } });
    assert.deepEqual(selectLifecycle(recipe, recipe.Manifests![1]), {
      setenv: { X: '1' },
      steps: { Run: { script: 'linux-run', requiresPrivilege: true, timeoutSeconds: 5, setenv: {} } },
    });
    assert.deepEqual(selectLifecycle(recipe, recipe.Manifests![2]), { setenv: {}, steps: { Run: { script: 'generic', requiresPrivilege: false, setenv: {} } } });
  });
});
