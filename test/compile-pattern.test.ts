// compilePattern turns the models' Java regular expressions into JavaScript ones. Pure unit tests: no server,
// so no store either.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceModel } from '../src/wire/service-model.js';
import { compilePattern } from '../src/wire/validate.js';

function accepts(pattern: string, ...values: string[]) {
  const re = compilePattern(pattern);
  for (const v of values) assert.ok(re.test(v), `${pattern} should accept ${JSON.stringify(v)}`);
}

function rejects(pattern: string, ...values: string[]) {
  const re = compilePattern(pattern);
  for (const v of values) assert.ok(!re.test(v), `${pattern} should reject ${JSON.stringify(v)}`);
}

describe('compilePattern', () => {
  it('compiles every pattern of the three vendored models, in Unicode mode', () => {
    let count = 0;
    for (const file of ['greengrassv2', 'iot', 'iot-jobs-data']) {
      for (const [name, shape] of Object.entries(ServiceModel.load(file).shapes)) {
        if (!shape.pattern) continue;
        const re = compilePattern(shape.pattern);
        // Without the u flag \p{L} would silently mean the letters "p{L}".
        assert.ok(re.flags.includes('u'), `${file} ${name}: ${shape.pattern} compiled without the u flag`);
        count++;
      }
    }
    assert.ok(count > 100, `only ${count} patterns found`);
  });

  it('matches the whole value, as AWS validators do', () => {
    rejects('[a-zA-Z0-9:_-]+', 'bad name', 'name!', ' name', '');
    accepts('[a-zA-Z0-9:_-]+', 'core-1', 'a:b_c');
    // An alternation is anchored as a whole, not just its first and last branch.
    accepts('[a-zA-Z0-9_-]+|^\\$next', 'job-1', '$next');
    rejects('[a-zA-Z0-9_-]+|^\\$next', 'job 1', '$next!', 'x$next');
    accepts('([\\n\\t])|(\\r\\n)|(,)', ',', '\r\n');
    rejects('([\\n\\t])|(\\r\\n)|(,)', ',,', 'a,');
    // Patterns that carry their own anchors behave the same.
    accepts('^[a-zA-Z0-9-]+$', 'token-1');
    rejects('^[a-zA-Z0-9-]+$', 'token-1\n', 'token 1');
  });

  it('translates \\p{Upper} and \\p{Digit} to ASCII classes', () => {
    const reasonCode = '[\\p{Upper}\\p{Digit}_]+'; // IoT ReasonCode
    accepts(reasonCode, 'ABC_1', 'Z9');
    rejects(reasonCode, 'abc', 'aBC', 'ABC-1', 'É', '');
  });

  it('translates \\p{Graph} next to \\x20 to printable ASCII', () => {
    const description = '[\\p{Graph}\\x20]*'; // IoT ThingGroupDescription
    accepts(description, '', 'Fleet of 20 cores, rack #3 (east) ~ok~', '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
    rejects(description, 'tab\there', 'line\nbreak', 'café', 'non\u00a0breaking', '\x7F');
  });

  it('keeps Unicode categories: [^\\p{C}] refuses control and format characters only', () => {
    const comment = '[^\\p{C}]+'; // IoT Comment
    accepts(comment, 'héllo wörld 日本 ✓', 'a b');
    rejects(comment, '', 'a\u0000b', 'a\nb', 'zero\u200Bwidth', '\u00AD');
    const tagKey = '^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$'; // IoT TagKey
    accepts(tagKey, 'clé 名前 ٣', 'a-b_c.d:e/f=g+h@i', '');
    rejects(tagKey, 'a!b', 'tab\t', 'a#b');
  });

  it('translates \\p{Cntrl} inside a negated class to ASCII controls', () => {
    const state = '[^\\p{Cntrl}]*'; // IoT VerificationStateDescription
    accepts(state, 'café ✓', '');
    rejects(state, 'a\u0007', '\x7F', 'a\rb');
  });

  it('treats \\s and \\S as Java does: ASCII whitespace only', () => {
    const clientToken = '\\S{36,64}'; // IoT ClientToken
    accepts(clientToken, 'a'.repeat(35) + '\u00a0', 'x'.repeat(64));
    rejects(clientToken, 'a'.repeat(35) + ' ', 'a'.repeat(35) + '\t', 'a'.repeat(35), 'a'.repeat(65));
    accepts('[\\s\\S]*', 'any\nthing\u00a0at all');
  });

  it('accepts escapes Java allows but the u flag does not, such as \\"', () => {
    const influxDb = '^[^_\\"][^\\"]+$'; // IoT InfluxDBDatabaseName
    accepts(influxDb, 'metrics', 'db-1');
    rejects(influxDb, '_metrics', 'me"trics', '"m', 'm');
  });

  it('keeps ranges between punctuation, as in IoT RegistryS3KeyName', () => {
    const key = "[a-zA-Z0-9!_.*'()-\\/]+";
    accepts(key, 'dir/file(1).json', "it's-here", '+,');
    rejects(key, 'dir file', 'a~b', 'a\\b');
  });
});
