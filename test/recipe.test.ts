// Unit tests of the pure recipe module: parsing (JSON/YAML, case-insensitive keys), every validation rule with its
// exact message, serialisation round trips, and manifest selection by platform.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import {
  artifactFileName,
  parseRecipe,
  platformMatches,
  recipePlatforms,
  RecipeError,
  recipeToJson,
  recipeToYaml,
  selectManifest,
  toRecipe,
  type Recipe,
} from '../src/core/recipe/index.js';

type Obj = Record<string, any>;

/** A small valid recipe, fresh each call so tests can mutate it. */
const valid = (): Obj => ({
  RecipeFormatVersion: '2020-01-25',
  ComponentName: 'com.example.Hello',
  ComponentVersion: '1.0.0',
  Manifests: [{ Platform: { os: 'linux' }, Lifecycle: { Run: 'echo hi' } }],
});

/** The violations parseRecipe reports for `input` (an object is sent as JSON); fails the test if it parses. */
function violationsOf(input: Obj | string | Buffer): { name: string; message: string }[] {
  const text = typeof input === 'string' || Buffer.isBuffer(input) ? input : JSON.stringify(input);
  try {
    parseRecipe(text);
  } catch (e) {
    assert.ok(e instanceof RecipeError, `expected a RecipeError, got ${e}`);
    return e.violations;
  }
  assert.fail('expected the recipe to be rejected');
}

/** Asserts `input` is rejected with exactly these messages; each violation's name is its message's path prefix. */
function assertRejected(input: Obj | string | Buffer, messages: string[]) {
  const violations = violationsOf(input);
  assert.deepEqual(
    violations.map((v) => v.message),
    messages,
  );
  for (const v of violations) assert.ok(v.message.startsWith(`${v.name}: `), `${v.message} should start with ${v.name}`);
}

const withRecipe = (change: (r: Obj) => void): Obj => {
  const r = valid();
  change(r);
  return r;
};
const withManifest = (change: (m: Obj) => void) => withRecipe((r) => change(r.Manifests[0]));
const withArtifacts = (...artifacts: unknown[]) => withManifest((m) => (m.Artifacts = artifacts));

const FULL_YAML = `
RecipeFormatVersion: 2020-01-25
ComponentName: com.example.Full
ComponentVersion: 1.2.3-beta.1+build.5
ComponentType: aws.greengrass.generic
ComponentDescription: Does everything.
ComponentPublisher: Example Corp
ComponentDependencies:
  aws.greengrass.TokenExchangeService:
    VersionRequirement: ">=2.0.0 <3.0.0"
    DependencyType: HARD
  com.example.Logger:
    VersionRequirement: ^1.1.0
    DependencyType: SOFT
ComponentConfiguration:
  DefaultConfiguration:
    Message: hello
    nested: { CamelCase: 1, lower: [yes, 2020-01-25, "0o17"] }
Manifests:
  - Name: Linux ARM
    Platform:
      os: linux
      architecture: /arm|aarch64/
    Lifecycle:
      Setenv:
        MODE: fast
      Install:
        Script: pip3 install -r {artifacts:path}/requirements.txt
        RequiresPrivilege: true
        Skipif: onpath pip3
        Timeout: 300
        Setenv:
          PIP_NO_CACHE: "1"
      Run: |
        python3 {artifacts:path}/main.py
        echo done
    Artifacts:
      - Uri: s3://example-bucket/hello/1.2.3/main.zip
        Unarchive: ZIP
        Permission:
          Read: ALL
          Execute: OWNER
      - Uri: s3://example-bucket/hello/requirements.txt
        Digest: 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
        Algorithm: SHA-256
  - Platform:
      os: "*"
    Selections: [linux]
Lifecycle:
  linux:
    Startup:
      Script: ./start.sh
Selections: [all]
`;

describe('recipe: parsing', () => {
  it('parses a YAML recipe with every section, keeping the version and dates as strings', () => {
    const r = parseRecipe(FULL_YAML);
    assert.equal(r.RecipeFormatVersion, '2020-01-25');
    assert.equal(r.ComponentVersion, '1.2.3-beta.1+build.5');
    assert.deepEqual(r.ComponentDependencies, {
      'aws.greengrass.TokenExchangeService': { VersionRequirement: '>=2.0.0 <3.0.0', DependencyType: 'HARD' },
      'com.example.Logger': { VersionRequirement: '^1.1.0', DependencyType: 'SOFT' },
    });
    // YAML 1.2 core schema: `yes` and dates stay strings.
    assert.deepEqual(r.ComponentConfiguration?.DefaultConfiguration, {
      Message: 'hello',
      nested: { CamelCase: 1, lower: ['yes', '2020-01-25', '0o17'] },
    });
    const m = r.Manifests![0];
    assert.equal(m.Name, 'Linux ARM');
    assert.deepEqual(m.Platform, { os: 'linux', architecture: '/arm|aarch64/' });
    assert.deepEqual(m.Lifecycle?.Install, {
      Script: 'pip3 install -r {artifacts:path}/requirements.txt',
      RequiresPrivilege: true,
      Skipif: 'onpath pip3',
      Timeout: 300,
      Setenv: { PIP_NO_CACHE: '1' },
    });
    assert.equal(m.Lifecycle?.Run, 'python3 {artifacts:path}/main.py\necho done\n');
    assert.deepEqual(m.Artifacts![0], {
      Uri: 's3://example-bucket/hello/1.2.3/main.zip',
      Unarchive: 'ZIP',
      Permission: { Read: 'ALL', Execute: 'OWNER' },
    });
    assert.deepEqual(r.Manifests![1], { Platform: { os: '*' }, Selections: ['linux'] });
    assert.deepEqual(r.Lifecycle, { linux: { Startup: { Script: './start.sh' } } });
    assert.deepEqual(r.Selections, ['all']);
  });

  it('parses JSON from a Buffer, with or without a byte order mark', () => {
    const json = JSON.stringify(valid());
    assert.deepEqual(parseRecipe(Buffer.from(json)), valid());
    assert.deepEqual(parseRecipe(Buffer.from(`\uFEFF${json}`)), valid());
  });

  it('accepts a YAML flow mapping that starts with { but is not JSON', () => {
    const r = parseRecipe('{RecipeFormatVersion: 2020-01-25, ComponentName: a.b, ComponentVersion: 1.0.0}');
    assert.deepEqual(r, { RecipeFormatVersion: '2020-01-25', ComponentName: 'a.b', ComponentVersion: '1.0.0' });
  });

  it('matches format keys case-insensitively and writes them canonically; user data keeps its case', () => {
    const r = parseRecipe(
      JSON.stringify({
        recipeformatversion: '2020-01-25',
        COMPONENTNAME: 'com.example.Case',
        componentVersion: '1.0.0',
        componentdependencies: { 'Com.Example.Dep': { versionrequirement: '^1.0.0', DEPENDENCYTYPE: 'SOFT' } },
        componentConfiguration: { defaultConfiguration: { MixedCase: { innerKey: 1 } } },
        manifests: [
          {
            name: 'any',
            platform: { OS: 'linux', 'Architecture.Detail': 'arm71' },
            selections: ['Linux'],
            artifacts: [{ uri: 's3://b/k.zip', unarchive: 'ZIP', permission: { read: 'ALL', execute: 'NONE' }, digest: 'x', algorithm: 'SHA-256' }],
            lifecycle: {
              setenv: { My_Var: 'v' },
              install: { script: 'i', requiresprivilege: false, SKIPIF: 'exists /x', timeout: 5, setEnv: { Other_Var: 'w' } },
              RUN: 'r',
              Linux: { shutdown: 's' },
            },
          },
        ],
        LIFECYCLE: { bootstrap: 'b', recover: 'rc', uninstall: 'u', startup: 'st' },
        Tags: { keep: 'me' },
        x_Custom: 1,
      }),
    );
    assert.deepEqual(r, {
      RecipeFormatVersion: '2020-01-25',
      ComponentName: 'com.example.Case',
      ComponentVersion: '1.0.0',
      ComponentDependencies: { 'Com.Example.Dep': { VersionRequirement: '^1.0.0', DependencyType: 'SOFT' } },
      ComponentConfiguration: { DefaultConfiguration: { MixedCase: { innerKey: 1 } } },
      Manifests: [
        {
          Name: 'any',
          Platform: { OS: 'linux', 'Architecture.Detail': 'arm71' },
          Lifecycle: {
            Setenv: { My_Var: 'v' },
            Install: { Script: 'i', RequiresPrivilege: false, Skipif: 'exists /x', Timeout: 5, Setenv: { Other_Var: 'w' } },
            Run: 'r',
            Linux: { Shutdown: 's' },
          },
          Selections: ['Linux'],
          Artifacts: [{ Uri: 's3://b/k.zip', Unarchive: 'ZIP', Permission: { Read: 'ALL', Execute: 'NONE' }, Digest: 'x', Algorithm: 'SHA-256' }],
        },
      ],
      Lifecycle: { Bootstrap: 'b', Startup: 'st', Recover: 'rc', Uninstall: 'u' },
      Tags: { keep: 'me' },
      x_Custom: 1,
    });
    // Canonical order, whatever order the input had.
    assert.deepEqual(Object.keys(r.Manifests![0].Lifecycle!), ['Setenv', 'Install', 'Run', 'Linux']);
  });

  it('reports a format key given twice in different letter case', () => {
    assertRejected('{"RecipeFormatVersion":"2020-01-25","ComponentName":"a","componentname":"b","ComponentVersion":"1.0.0"}', [
      "ComponentName: given more than once ('ComponentName' and 'componentname'); recipe keys are case-insensitive",
    ]);
    assertRejected(withManifest((m) => (m.Lifecycle = { Run: 'a', run: 'b' })), [
      "Manifests[0].Lifecycle.Run: given more than once ('Run' and 'run'); recipe keys are case-insensitive",
    ]);
  });

  it('keeps a "__proto__" key in user data as plain data', () => {
    const r = parseRecipe('{"RecipeFormatVersion":"2020-01-25","ComponentName":"a","ComponentVersion":"1.0.0","ComponentDependencies":{"__proto__":{"VersionRequirement":"1"}}}');
    assert.deepEqual(Object.keys(r.ComponentDependencies!), ['__proto__']);
    assert.equal(Object.getPrototypeOf(r.ComponentDependencies), Object.prototype);
  });

  it('toRecipe validates and normalises a recipe built in code', () => {
    assert.deepEqual(toRecipe({ componentversion: '1.0.0', ComponentName: 'a', RecipeFormatVersion: '2020-01-25' }), {
      RecipeFormatVersion: '2020-01-25',
      ComponentName: 'a',
      ComponentVersion: '1.0.0',
    });
    assert.throws(() => toRecipe({}), RecipeError);
  });
});

describe('recipe: documents that are not a recipe', () => {
  it('names the JSON parse error', () => {
    const text = '{"RecipeFormatVersion": "2020-01-25",, }';
    let jsonMessage = '';
    try {
      JSON.parse(text);
    } catch (e) {
      jsonMessage = (e as Error).message;
    }
    assertRejected(text, [`recipe: is not valid JSON: ${jsonMessage}`]);
  });

  it('names the YAML parse error with its position', () => {
    assertRejected('ComponentName: a\nComponentName: b\n', ['recipe: is not valid JSON or YAML: Map keys must be unique at line 2, column 1:']);
    assertRejected('a: 1\n---\nb: 2\n', [
      'recipe: is not valid JSON or YAML: Source contains multiple documents; please use YAML.parseAllDocuments() at line 2, column 1:',
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    assertRejected('[1, 2]', ['recipe: must be a JSON object or YAML mapping, got a list']);
    assertRejected('- a\n- b\n', ['recipe: must be a JSON object or YAML mapping, got a list']);
    assertRejected('just text', ["recipe: must be a JSON object or YAML mapping, got 'just text'"]);
    assertRejected('42', ['recipe: must be a JSON object or YAML mapping, got the number 42']);
    assertRejected('null', ['recipe: must be a JSON object or YAML mapping, got null']);
    assertRejected('', ['recipe: must be a JSON object or YAML mapping, got an empty document']);
    assertRejected('# only a comment\n', ['recipe: must be a JSON object or YAML mapping, got an empty document']);
  });

  it('rejects bytes that are not UTF-8', () => {
    assertRejected(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), ['recipe: is not valid UTF-8 text']);
  });
});

describe('recipe: validation rules', () => {
  it('RecipeFormatVersion is required and must be 2020-01-25', () => {
    assertRejected(
      withRecipe((r) => delete r.RecipeFormatVersion),
      ["RecipeFormatVersion: required; the only supported version is '2020-01-25'"],
    );
    assertRejected(
      withRecipe((r) => (r.RecipeFormatVersion = '2021-01-01')),
      ["RecipeFormatVersion: must be '2020-01-25' (the only supported version), got '2021-01-01'"],
    );
    assertRejected('RecipeFormatVersion: 2020\nComponentName: a\nComponentVersion: 1.0.0\n', [
      "RecipeFormatVersion: must be '2020-01-25' (the only supported version), got the number 2020",
    ]);
  });

  it('ComponentName is required, 1..128 characters of letters, digits, - _ .', () => {
    assertRejected(
      withRecipe((r) => delete r.ComponentName),
      ['ComponentName: required'],
    );
    assertRejected(
      withRecipe((r) => (r.ComponentName = 7)),
      ['ComponentName: must be a string, got the number 7'],
    );
    assertRejected(
      withRecipe((r) => (r.ComponentName = '')),
      ['ComponentName: must be 1 to 128 characters long, got 0'],
    );
    assertRejected(
      withRecipe((r) => (r.ComponentName = 'a'.repeat(129))),
      ['ComponentName: must be 1 to 128 characters long, got 129'],
    );
    assertRejected(
      withRecipe((r) => (r.ComponentName = 'com/example hello')),
      ["ComponentName: may contain only letters, digits, '-', '_' and '.', got 'com/example hello'"],
    );
    assert.equal(parseRecipe(JSON.stringify(withRecipe((r) => (r.ComponentName = `A-z_0.9${'x'.repeat(121)}`)))).ComponentName.length, 128);
  });

  it('ComponentVersion is a required semantic version, at most 64 characters, parts at most 999999', () => {
    const version = (v: unknown) => withRecipe((r) => (r.ComponentVersion = v));
    assertRejected(
      withRecipe((r) => delete r.ComponentVersion),
      ['ComponentVersion: required'],
    );
    assertRejected('RecipeFormatVersion: 2020-01-25\nComponentName: a\nComponentVersion: 1.0\n', [
      'ComponentVersion: must be a string, got the number 1',
    ]);
    for (const bad of ['1.0', 'v1.0.0', ' 1.0.0', '1.0.0.0', '01.0.0', 'latest']) {
      assertRejected(version(bad), [`ComponentVersion: must be a semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (e.g. 1.0.0), got '${bad}'`]);
    }
    const long = `1.0.0-${'a'.repeat(59)}`; // 65 characters
    assertRejected(version(long), [`ComponentVersion: must be at most 64 characters long, got 65`]);
    assertRejected(version('1000000.0.0'), ["ComponentVersion: major, minor and patch must each be at most 999999, got '1000000.0.0'"]);
    assertRejected(version('0.0.1000000'), ["ComponentVersion: major, minor and patch must each be at most 999999, got '0.0.1000000'"]);
    assert.equal(parseRecipe(JSON.stringify(version('999999.999999.999999'))).ComponentVersion, '999999.999999.999999');
    assert.equal(parseRecipe(JSON.stringify(version(`1.0.0-${'a'.repeat(58)}`))).ComponentVersion.length, 64);
  });

  it('ComponentType, if given, is one of the four types', () => {
    assertRejected(
      withRecipe((r) => (r.ComponentType = 'aws.greengrass.docker')),
      [
        "ComponentType: must be one of aws.greengrass.generic, aws.greengrass.lambda, aws.greengrass.plugin, aws.greengrass.nucleus, got 'aws.greengrass.docker'",
      ],
    );
    for (const t of ['aws.greengrass.generic', 'aws.greengrass.lambda', 'aws.greengrass.plugin', 'aws.greengrass.nucleus']) {
      assert.equal(parseRecipe(JSON.stringify(withRecipe((r) => (r.ComponentType = t)))).ComponentType, t);
    }
  });

  it('ComponentDescription, ComponentPublisher and ComponentSource are strings', () => {
    assertRejected(
      withRecipe((r) => Object.assign(r, { ComponentDescription: 1, ComponentPublisher: ['x'], ComponentSource: true })),
      [
        'ComponentDescription: must be a string, got the number 1',
        'ComponentPublisher: must be a string, got a list',
        'ComponentSource: must be a string, got the boolean true',
      ],
    );
  });

  it('ComponentDependencies maps names to a valid range and HARD|SOFT, never the component itself', () => {
    const deps = (d: unknown) => withRecipe((r) => (r.ComponentDependencies = d));
    assertRejected(deps(['a']), ['ComponentDependencies: must be a mapping of component name to {VersionRequirement, DependencyType}, got a list']);
    assertRejected(deps({ 'a.b': '1.0.0' }), [
      "ComponentDependencies[a.b]: must be a mapping with VersionRequirement and optional DependencyType, got '1.0.0'",
    ]);
    assertRejected(deps({ 'a.b': {} }), ['ComponentDependencies[a.b].VersionRequirement: required']);
    assertRejected(deps({ 'a.b': { VersionRequirement: 1 } }), ['ComponentDependencies[a.b].VersionRequirement: must be a string, got the number 1']);
    assertRejected(deps({ 'a.b': { VersionRequirement: 'not a range' } }), [
      "ComponentDependencies[a.b].VersionRequirement: must be an npm-style version range (e.g. '>=1.0.0 <2.0.0' or '^1.2.0'), got 'not a range'",
    ]);
    assertRejected(deps({ 'a.b': { VersionRequirement: '^1.0.0', DependencyType: 'hard' } }), [
      "ComponentDependencies[a.b].DependencyType: must be HARD or SOFT, got 'hard'",
    ]);
    assertRejected(deps({ 'com.example.Hello': { VersionRequirement: '*' } }), ['ComponentDependencies[com.example.Hello]: a component cannot depend on itself']);
    assertRejected(deps({ 'bad name': { VersionRequirement: '*' } }), [
      "ComponentDependencies[bad name]: dependency name must be 1 to 128 letters, digits, '-', '_' or '.'",
    ]);
    const ok = parseRecipe(JSON.stringify(deps({ A: { VersionRequirement: '>=1.0.0 <2.0.0 || 3.x' }, B: { VersionRequirement: '1.2.3', DependencyType: 'SOFT' } })));
    assert.equal(ok.ComponentDependencies?.A.DependencyType, undefined); // default HARD is not written in
  });

  it('ComponentConfiguration and its DefaultConfiguration are mappings', () => {
    assertRejected(
      withRecipe((r) => (r.ComponentConfiguration = 'x')),
      ["ComponentConfiguration: must be a mapping, got 'x'"],
    );
    assertRejected(
      withRecipe((r) => (r.ComponentConfiguration = { DefaultConfiguration: [1] })),
      ['ComponentConfiguration.DefaultConfiguration: must be a mapping, got a list'],
    );
  });

  it('Manifests is a list of mappings with a string Name', () => {
    assertRejected(
      withRecipe((r) => (r.Manifests = { Platform: {} })),
      ['Manifests: must be a list of manifests, got a mapping'],
    );
    assertRejected(
      withRecipe((r) => (r.Manifests = [{}, 'linux'])),
      ["Manifests[1]: must be a mapping, got 'linux'"],
    );
    assertRejected(
      withManifest((m) => (m.Name = 3)),
      ['Manifests[0].Name: must be a string, got the number 3'],
    );
  });

  it('Platform maps attributes to a label, * or a /regex/ that compiles', () => {
    const platform = (p: unknown) => withManifest((m) => (m.Platform = p));
    assertRejected(platform('linux'), ["Manifests[0].Platform: must be a mapping of attribute name to label, got 'linux'"]);
    assertRejected(platform({ os: 1 }), ['Manifests[0].Platform[os]: must be a string, got the number 1']);
    assertRejected(platform({ os: '-linux' }), ["Manifests[0].Platform[os]: must be a label starting with a letter or digit, '*', or '/regex/', got '-linux'"]);
    assertRejected(platform({ os: '' }), ["Manifests[0].Platform[os]: must be a label starting with a letter or digit, '*', or '/regex/', got ''"]);
    assertRejected(platform({ architecture: '//' }), [
      "Manifests[0].Platform[architecture]: must be a label starting with a letter or digit, '*', or '/regex/', got '//'",
    ]);
    let regexError = '';
    try {
      new RegExp('^(?:arm(64)$');
    } catch (e) {
      regexError = (e as Error).message;
    }
    assertRejected(platform({ architecture: '/arm(64/' }), [`Manifests[0].Platform[architecture]: '/arm(64/' is not a valid regular expression: ${regexError}`]);
    assert.deepEqual(parseRecipe(JSON.stringify(platform({ os: '*', architecture: '/a.*/', custom: 'X1' }))).Manifests![0].Platform, {
      os: '*',
      architecture: '/a.*/',
      custom: 'X1',
    });
  });

  it('Selections are lists of strings', () => {
    assertRejected(
      withRecipe((r) => (r.Selections = 'linux')),
      ["Selections: must be a list of strings, got 'linux'"],
    );
    assertRejected(
      withManifest((m) => (m.Selections = ['linux', 5])),
      ['Manifests[0].Selections[1]: must be a string, got the number 5'],
    );
  });

  it('Lifecycle is a mapping of steps, each a script or {Script, RequiresPrivilege, Skipif, Timeout, Setenv}', () => {
    const lifecycle = (l: unknown) => withManifest((m) => (m.Lifecycle = l));
    assertRejected(lifecycle('echo'), ["Manifests[0].Lifecycle: must be a mapping of lifecycle steps, got 'echo'"]);
    assertRejected(lifecycle({ Run: ['echo'] }), ['Manifests[0].Lifecycle.Run: must be a script string or a mapping with Script, got a list']);
    assertRejected(lifecycle({ Run: null }), ['Manifests[0].Lifecycle.Run: must be a script string or a mapping with Script, got null']);
    assertRejected(lifecycle({ Install: { Timeout: 5 } }), ['Manifests[0].Lifecycle.Install.Script: required']);
    assertRejected(lifecycle({ Install: { Script: 5 } }), ['Manifests[0].Lifecycle.Install.Script: must be a string, got the number 5']);
    assertRejected(lifecycle({ Install: { Script: 'i', RequiresPrivilege: 'yes' } }), [
      "Manifests[0].Lifecycle.Install.RequiresPrivilege: must be true or false, got 'yes'",
    ]);
    for (const skip of ['exists', 'onpath', 'present /x', '!!exists /x', 3]) {
      const shown = typeof skip === 'string' ? `'${skip}'` : `the number ${skip}`;
      assertRejected(lifecycle({ Install: { Script: 'i', Skipif: skip } }), [
        `Manifests[0].Lifecycle.Install.Skipif: must be 'exists <path>' or 'onpath <executable>', optionally preceded by '!', got ${shown}`,
      ]);
    }
    for (const timeout of [0, -1, 1.5]) {
      assertRejected(lifecycle({ Install: { Script: 'i', Timeout: timeout } }), [
        `Manifests[0].Lifecycle.Install.Timeout: must be a positive integer number of seconds, got the number ${timeout}`,
      ]);
    }
    assertRejected(lifecycle({ Install: { Script: 'i', Timeout: '60' } }), [
      "Manifests[0].Lifecycle.Install.Timeout: must be a positive integer number of seconds, got '60'",
    ]);
    const ok = parseRecipe(
      JSON.stringify(lifecycle({ Install: { Script: 'i', Skipif: '!onpath  python3', Timeout: 1, RequiresPrivilege: false }, Shutdown: { Script: 's', Skipif: 'exists /tmp/x' } })),
    );
    assert.equal((ok.Manifests![0].Lifecycle!.Install as { Skipif: string }).Skipif, '!onpath  python3');
  });

  it('Setenv, at lifecycle and step level, maps names to strings', () => {
    assertRejected(
      withManifest((m) => (m.Lifecycle = { Setenv: ['A=1'], Run: 'r' })),
      ['Manifests[0].Lifecycle.Setenv: must be a mapping of variable name to string value, got a list'],
    );
    assertRejected('RecipeFormatVersion: 2020-01-25\nComponentName: a\nComponentVersion: 1.0.0\nLifecycle:\n  Run:\n    Script: r\n    Setenv:\n      PORT: 8080\n', [
      'Lifecycle.Run.Setenv[PORT]: must be a string, got the number 8080',
    ]);
  });

  it('Startup and Run are mutually exclusive, also inside selection keys', () => {
    assertRejected(
      withManifest((m) => (m.Lifecycle = { Startup: 's', Run: 'r' })),
      ['Manifests[0].Lifecycle: Startup and Run are mutually exclusive; give only one'],
    );
    assertRejected(
      withRecipe((r) => (r.Lifecycle = { linux: { startup: 's', run: 'r' } })),
      ['Lifecycle.linux: Startup and Run are mutually exclusive; give only one'],
    );
  });

  it('other Lifecycle keys are selection keys holding lifecycles, validated recursively', () => {
    assertRejected(
      withManifest((m) => (m.Lifecycle = { Instal: 'pip install x' })),
      [
        "Manifests[0].Lifecycle.Instal: 'Instal' is not a lifecycle step (Setenv, Bootstrap, Install, Startup, Run, Shutdown, Recover, Uninstall), so it is a selection key and must map to a lifecycle mapping, got 'pip install x'",
      ],
    );
    assertRejected(
      withRecipe((r) => (r.Lifecycle = { linux: { arm: { Install: { Timeout: 0 } } } })),
      ['Lifecycle.linux.arm.Install.Script: required', 'Lifecycle.linux.arm.Install.Timeout: must be a positive integer number of seconds, got the number 0'],
    );
  });

  it('artifacts need a Uri with scheme s3://BUCKET/KEY, greengrass: or docker:', () => {
    assertRejected(withArtifacts('s3://b/k'), ["Manifests[0].Artifacts[0]: must be a mapping, got 's3://b/k'"]);
    assertRejected(
      withManifest((m) => (m.Artifacts = { Uri: 's3://b/k' })),
      ['Manifests[0].Artifacts: must be a list of artifacts, got a mapping'],
    );
    assertRejected(withArtifacts({ Unarchive: 'ZIP' }), ['Manifests[0].Artifacts[0].Uri: required']);
    assertRejected(withArtifacts({ Uri: 5 }), ['Manifests[0].Artifacts[0].Uri: must be a string, got the number 5']);
    assertRejected(withArtifacts({ Uri: 's3://b/a.zip' }, { Uri: 'ftp://host/x.zip' }), [
      "Manifests[0].Artifacts[1].Uri: unsupported scheme 'ftp'; use s3://BUCKET/KEY or docker:IMAGE",
    ]);
    assertRejected(withArtifacts({ Uri: 'https://host/x.zip' }), ["Manifests[0].Artifacts[0].Uri: unsupported scheme 'https'; use s3://BUCKET/KEY or docker:IMAGE"]);
    assertRejected(withArtifacts({ Uri: 'main.zip' }), ["Manifests[0].Artifacts[0].Uri: must be a URI with a scheme; use s3://BUCKET/KEY or docker:IMAGE, got 'main.zip'"]);
    for (const uri of ['s3://bucket', 's3://bucket/', 's3:///key', 's3:bucket/key']) {
      assertRejected(withArtifacts({ Uri: uri }), [`Manifests[0].Artifacts[0].Uri: must be s3://BUCKET/KEY with a non-empty bucket and key, got '${uri}'`]);
    }
    assertRejected(withArtifacts({ Uri: 's3://bucket/dir/' }), ["Manifests[0].Artifacts[0].Uri: must end in a file name, got 's3://bucket/dir/'"]);
    assertRejected(withArtifacts({ Uri: 'greengrass:' }), ["Manifests[0].Artifacts[0].Uri: must be greengrass:NAME with a non-empty name, got 'greengrass:'"]);
    assertRejected(withArtifacts({ Uri: 'docker:' }), ["Manifests[0].Artifacts[0].Uri: must be docker:IMAGE with a non-empty image, got 'docker:'"]);
    const ok = parseRecipe(
      JSON.stringify(withArtifacts({ Uri: 'S3://bucket/a/b.zip' }, { Uri: 'greengrass:tool.jar' }, { Uri: 'docker:public.ecr.aws/x/app:1' }, { Uri: 'docker:other/app:1' })),
    );
    assert.equal(ok.Manifests![0].Artifacts!.length, 4);
  });

  it('artifact file names are unique within a manifest (docker images are not files)', () => {
    assertRejected(withArtifacts({ Uri: 's3://one/a/app.zip' }, { Uri: 's3://two/b/app.zip' }, { Uri: 'greengrass:app.zip' }), [
      "Manifests[0].Artifacts[1].Uri: file name 'app.zip' is also used by Manifests[0].Artifacts[0]; artifact file names must be unique within a manifest",
      "Manifests[0].Artifacts[2].Uri: file name 'app.zip' is also used by Manifests[0].Artifacts[0]; artifact file names must be unique within a manifest",
    ]);
    // The same file in two manifests is fine.
    const twoManifests = withRecipe((r) => {
      r.Manifests = [
        { Platform: { os: 'linux' }, Artifacts: [{ Uri: 's3://b/linux/app.zip' }] },
        { Platform: { os: 'windows' }, Artifacts: [{ Uri: 's3://b/windows/app.zip' }] },
      ];
    });
    assert.equal(parseRecipe(JSON.stringify(twoManifests)).Manifests!.length, 2);
  });

  it('Unarchive is NONE|ZIP, Permission Read/Execute NONE|OWNER|ALL, Digest a string, Algorithm SHA-256', () => {
    assertRejected(withArtifacts({ Uri: 's3://b/k', Unarchive: 'TAR' }), ["Manifests[0].Artifacts[0].Unarchive: must be NONE or ZIP, got 'TAR'"]);
    assertRejected(withArtifacts({ Uri: 's3://b/k', Permission: 'ALL' }), ["Manifests[0].Artifacts[0].Permission: must be a mapping with Read and Execute, got 'ALL'"]);
    assertRejected(withArtifacts({ Uri: 's3://b/k', Permission: { Read: 'GROUP', Execute: 'all' } }), [
      "Manifests[0].Artifacts[0].Permission.Read: must be NONE, OWNER or ALL, got 'GROUP'",
      "Manifests[0].Artifacts[0].Permission.Execute: must be NONE, OWNER or ALL, got 'all'",
    ]);
    assertRejected(withArtifacts({ Uri: 's3://b/k', Digest: 12 }), ['Manifests[0].Artifacts[0].Digest: must be a string, got the number 12']);
    assertRejected(withArtifacts({ Uri: 's3://b/k', Algorithm: 'MD5' }), ["Manifests[0].Artifacts[0].Algorithm: must be SHA-256, got 'MD5'"]);
  });

  it('lists every problem at once, in a RecipeError whose message counts them', () => {
    const bad = {
      RecipeFormatVersion: '2019-01-01',
      ComponentVersion: 'one',
      Manifests: [{ Platform: { os: '?' }, Artifacts: [{ Uri: 'ftp://x/y' }], Lifecycle: { Run: 'r', Startup: 's' } }],
      Unknown: 'kept',
    };
    let error: unknown;
    try {
      parseRecipe(JSON.stringify(bad));
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof RecipeError);
    assert.deepEqual(error.violations, [
      { name: 'RecipeFormatVersion', message: "RecipeFormatVersion: must be '2020-01-25' (the only supported version), got '2019-01-01'" },
      { name: 'ComponentName', message: 'ComponentName: required' },
      { name: 'ComponentVersion', message: "ComponentVersion: must be a semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (e.g. 1.0.0), got 'one'" },
      { name: 'Manifests[0].Platform[os]', message: "Manifests[0].Platform[os]: must be a label starting with a letter or digit, '*', or '/regex/', got '?'" },
      { name: 'Manifests[0].Lifecycle', message: 'Manifests[0].Lifecycle: Startup and Run are mutually exclusive; give only one' },
      { name: 'Manifests[0].Artifacts[0].Uri', message: "Manifests[0].Artifacts[0].Uri: unsupported scheme 'ftp'; use s3://BUCKET/KEY or docker:IMAGE" },
    ]);
    assert.equal(error.name, 'RecipeError');
    assert.equal(error.message, `6 problems in the recipe: ${error.violations.map((v) => v.message).join('; ')}`);
  });
});

describe('recipe: serialisation', () => {
  it('round-trips YAML -> Recipe -> JSON -> Recipe -> YAML to an equal Recipe', () => {
    const fromYaml = parseRecipe(FULL_YAML);
    const json = recipeToJson(fromYaml);
    const fromJson = parseRecipe(json);
    assert.deepEqual(fromJson, fromYaml);
    const yaml = recipeToYaml(fromJson);
    assert.deepEqual(parseRecipe(yaml), fromYaml);
    assert.deepEqual(JSON.parse(json), fromYaml);
  });

  it('writes canonical key names in canonical order whatever the object order', () => {
    const scrambled = {
      Manifests: [{ Artifacts: [{ Permission: { Execute: 'ALL', Read: 'ALL' }, Uri: 's3://b/k' }], Platform: { os: 'linux' }, Name: 'main' }],
      ComponentVersion: '1.0.0',
      Extra: true,
      ComponentName: 'a',
      RecipeFormatVersion: '2020-01-25',
    } as unknown as Recipe;
    assert.equal(
      recipeToJson(scrambled),
      JSON.stringify(
        {
          RecipeFormatVersion: '2020-01-25',
          ComponentName: 'a',
          ComponentVersion: '1.0.0',
          Manifests: [{ Name: 'main', Platform: { os: 'linux' }, Artifacts: [{ Uri: 's3://b/k', Permission: { Read: 'ALL', Execute: 'ALL' } }] }],
          Extra: true,
        },
        null,
        2,
      ),
    );
    assert.equal(
      recipeToYaml(scrambled),
      [
        'RecipeFormatVersion: "2020-01-25"',
        'ComponentName: a',
        'ComponentVersion: 1.0.0',
        'Manifests:',
        '  - Name: main',
        '    Platform:',
        '      os: linux',
        '    Artifacts:',
        '      - Uri: s3://b/k',
        '        Permission:',
        '          Read: ALL',
        '          Execute: ALL',
        'Extra: true',
        '',
      ].join('\n'),
    );
  });

  it('quotes strings a YAML 1.1 or 1.2 reader would take for something else, and keeps scripts as block text', () => {
    const recipe = parseRecipe(
      JSON.stringify(
        withRecipe((r) => {
          r.ComponentConfiguration = { DefaultConfiguration: { yes: 'on', date: '2020-01-25', octal: '0o17', exp: '1e3', empty: '', tilde: '~', plain: 'text', n: 5 } };
          r.Manifests[0].Lifecycle = { Run: 'line one\nline two\n' };
        }),
      ),
    );
    const yaml = recipeToYaml(recipe);
    assert.match(yaml, /^ {6}Run: \|\n {8}line one\n {8}line two\n/m);
    assert.match(yaml, /^ {4}"yes": "on"$/m);
    assert.match(yaml, /^ {4}plain: text$/m);
    for (const version of ['1.1', '1.2'] as const) {
      assert.deepEqual(YAML.parse(yaml, { version }), JSON.parse(recipeToJson(recipe)), `read back as YAML ${version}`);
    }
  });
});

describe('recipe: platforms and manifest selection', () => {
  const device = { os: 'linux', architecture: 'aarch64', 'architecture.detail': 'arm81' };

  it('no or empty Platform matches every device', () => {
    assert.equal(platformMatches(undefined, device), true);
    assert.equal(platformMatches({}, {}), true);
  });

  it('exact labels match only the same label, case included', () => {
    assert.equal(platformMatches({ os: 'linux' }, device), true);
    assert.equal(platformMatches({ os: 'linux', architecture: 'aarch64' }, device), true);
    assert.equal(platformMatches({ os: 'linux', architecture: 'amd64' }, device), false);
    assert.equal(platformMatches({ os: 'Linux' }, device), false);
    assert.equal(platformMatches({ gpu: 'nvidia' }, device), false); // attribute the device lacks
  });

  it('* matches anything, even a missing attribute', () => {
    assert.equal(platformMatches({ os: '*' }, device), true);
    assert.equal(platformMatches({ gpu: '*' }, device), true);
  });

  it('/regex/ must match the whole label, and never a missing attribute', () => {
    assert.equal(platformMatches({ architecture: '/aarch64|arm.*/' }, device), true);
    assert.equal(platformMatches({ architecture: '/arch/' }, device), false); // only part of 'aarch64'
    assert.equal(platformMatches({ 'architecture.detail': '/arm[78]1/' }, device), true);
    assert.equal(platformMatches({ gpu: '/.*/' }, device), false);
  });

  it('legacy all/any are wildcards for os and architecture only', () => {
    assert.equal(platformMatches({ os: 'all', architecture: 'any' }, device), true);
    assert.equal(platformMatches({ os: 'any' }, {}), true);
    assert.equal(platformMatches({ 'architecture.detail': 'all' }, device), false);
    assert.equal(platformMatches({ custom: 'any' }, { custom: 'x' }), false);
  });

  it('selectManifest returns the first matching manifest, or undefined', () => {
    const recipe = parseRecipe(
      JSON.stringify(
        withRecipe((r) => {
          r.Manifests = [
            { Name: 'windows', Platform: { os: 'windows' } },
            { Name: 'linux arm', Platform: { os: 'linux', architecture: '/arm|aarch64/' } },
            { Name: 'linux any', Platform: { os: 'linux' } },
            { Name: 'fallback' },
          ];
        }),
      ),
    );
    assert.equal(selectManifest(recipe, device)?.Name, 'linux arm');
    assert.equal(selectManifest(recipe, { os: 'linux', architecture: 'amd64' })?.Name, 'linux any');
    assert.equal(selectManifest(recipe, { os: 'darwin' })?.Name, 'fallback');
    const linuxOnly = parseRecipe(JSON.stringify(valid()));
    assert.equal(selectManifest(linuxOnly, { os: 'windows' }), undefined);
    assert.equal(selectManifest(parseRecipe(JSON.stringify(withRecipe((r) => delete r.Manifests))), device), undefined);
  });

  it('recipePlatforms lists one ComponentPlatform per manifest, named by the manifest Name', () => {
    const recipe = parseRecipe(FULL_YAML);
    assert.deepEqual(recipePlatforms(recipe), [
      { name: 'Linux ARM', attributes: { os: 'linux', architecture: '/arm|aarch64/' } },
      { attributes: { os: '*' } },
    ]);
    assert.deepEqual(recipePlatforms(parseRecipe(JSON.stringify(withRecipe((r) => (r.Manifests = [{}]))))), [{ attributes: {} }]);
  });

  it('artifactFileName is the last path segment after the scheme', () => {
    assert.equal(artifactFileName('s3://bucket/a/b/app.zip'), 'app.zip');
    assert.equal(artifactFileName('greengrass:tool.jar'), 'tool.jar');
    assert.equal(artifactFileName('s3://bucket/dir/'), '');
  });
});
