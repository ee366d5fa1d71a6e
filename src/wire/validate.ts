// Model-driven input validation: required members, lengths, patterns, enums, numeric ranges, list and map
// sizes, and JSON types, for any operation of any loaded model. Messages follow AWS's own validator wording:
// "Value 'x' at 'path' failed to satisfy constraint: Member must ...".
import type { FieldViolation } from '../core/errors.js';
import type { MemberRef, ServiceModel, Shape } from './service-model.js';

// Java's POSIX classes (ASCII by default) have no JavaScript equivalent; Unicode categories (\p{L} ...) do.
const POSIX_CLASSES: Record<string, string> = {
  Graph: '\\x21-\\x7E',
  Print: '\\x20-\\x7E',
  Upper: 'A-Z',
  Lower: 'a-z',
  Alpha: 'A-Za-z',
  Digit: '0-9',
  Alnum: 'A-Za-z0-9',
  Punct: '!-\\/:-@\\[-`{-~',
  Cntrl: '\\x00-\\x1F\\x7F',
  Space: ' \\t\\n\\x0B\\f\\r',
  ASCII: '\\x00-\\x7F',
};

// Java's \s is ASCII whitespace only; JavaScript's also matches Unicode spaces such as U+00A0, which Java's \S
// therefore includes. Inside a class, Java's \S is JavaScript's \S plus those spaces.
const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';
const JS_ONLY_SPACES = '\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF';
// Characters that may be escaped under the `u` flag; Java lets any other punctuation be escaped as well.
const ESCAPABLE = new Set('^$\\.*+?()[]{}|/');

/**
 * Translate a Java pattern from the model to a JavaScript RegExp that must match the WHOLE value. The models'
 * patterns come from AWS's Java validators, which use `matches()`: `[a-zA-Z0-9:_-]+` rejects 'my thing' although
 * it contains a match (Smithy's own @pattern is unanchored, AWS's services are not).
 */
export function compilePattern(pattern: string): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      const m = /^\\p\{(\w+)\}/.exec(pattern.slice(i));
      const posix = m ? POSIX_CLASSES[m[1]] : undefined;
      if (m && posix) {
        out += inClass ? posix : `[${posix}]`;
        i += m[0].length - 1;
        continue;
      }
      if (next === 's') out += inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`;
      else if (next === 'S') out += inClass ? `\\S${JS_ONLY_SPACES}` : `[^${JAVA_SPACE}]`;
      else if (/[A-Za-z0-9]/.test(next) || ESCAPABLE.has(next) || (inClass && next === '-')) out += c + next;
      else out += next; // an escaped punctuation character the u flag refuses to see escaped, e.g. \"
      i++;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  // The u flag makes \p{L} a Unicode category (without it, \p is a literal p).
  return new RegExp(`^(?:${out})$`, 'u');
}

const patternCache = new Map<string, RegExp>();
function patternOf(p: string): RegExp {
  let re = patternCache.get(p);
  if (!re) patternCache.set(p, (re = compilePattern(p)));
  return re;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `'${v.length > 200 ? v.slice(0, 200) + '...' : v}'`;
  if (typeof v === 'object') return Array.isArray(v) ? `[list of ${v.length}]` : '{...}';
  return `'${String(v)}'`;
}

function violation(path: string, value: unknown, rule: string): FieldViolation {
  return { name: path, message: `Value ${show(value)} at '${path}' failed to satisfy constraint: ${rule}` };
}

const codePoints = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

export class Validator {
  constructor(private readonly model: ServiceModel) {}

  /** Validate a parsed input against the operation's input shape; returns every violation found. */
  validateInput(shapeName: string, input: Record<string, unknown>): FieldViolation[] {
    const out: FieldViolation[] = [];
    this.visitStructure(this.model.shape(shapeName), input, '', out);
    return out;
  }

  private visitStructure(shape: Shape, value: Record<string, unknown>, prefix: string, out: FieldViolation[]) {
    for (const req of shape.required ?? []) {
      if (value[req] === undefined || value[req] === null) {
        out.push(violation(prefix + req, null, 'Member must not be null'));
      }
    }
    for (const [name, ref] of Object.entries(shape.members ?? {})) {
      const v = value[name];
      if (v === undefined || v === null) continue;
      this.visit(ref, v, prefix + name, out);
    }
  }

  private visit(ref: MemberRef, value: unknown, path: string, out: FieldViolation[]) {
    const shape = this.model.shape(ref.shape);
    switch (shape.type) {
      case 'structure':
        if (typeof value !== 'object' || Array.isArray(value)) {
          out.push(violation(path, value, 'Member must be a structure (JSON object)'));
          return;
        }
        this.visitStructure(shape, value as Record<string, unknown>, path + '.', out);
        return;
      case 'list': {
        if (!Array.isArray(value)) {
          out.push(violation(path, value, 'Member must be a list (JSON array)'));
          return;
        }
        this.checkSize(shape, value.length, value, path, out);
        value.forEach((item, i) => {
          if (item === null || item === undefined) out.push(violation(`${path}[${i}]`, null, 'Member must not be null'));
          else this.visit(shape.member!, item, `${path}[${i}]`, out);
        });
        return;
      }
      case 'map': {
        if (typeof value !== 'object' || Array.isArray(value)) {
          out.push(violation(path, value, 'Member must be a map (JSON object)'));
          return;
        }
        const entries = Object.entries(value as Record<string, unknown>);
        this.checkSize(shape, entries.length, value, path, out);
        for (const [k, v] of entries) {
          this.visit(shape.key!, k, `${path}[${k}](key)`, out);
          if (v === null || v === undefined) out.push(violation(`${path}[${k}]`, null, 'Member must not be null'));
          else this.visit(shape.value!, v, `${path}[${k}]`, out);
        }
        return;
      }
      case 'string': {
        if (typeof value !== 'string') {
          out.push(violation(path, value, 'Member must be a string'));
          return;
        }
        if (shape.enum && !shape.enum.includes(value)) {
          out.push(violation(path, value, `Member must satisfy enum value set: [${shape.enum.join(', ')}]`));
          return;
        }
        if (shape.min !== undefined || shape.max !== undefined) {
          this.checkSize(shape, codePoints(value), value, path, out);
        }
        if (shape.pattern && !patternOf(shape.pattern).test(value)) {
          out.push(violation(path, value, `Member must satisfy regular expression pattern: ${shape.pattern}`));
        }
        return;
      }
      case 'integer':
      case 'long':
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          out.push(violation(path, value, 'Member must be an integer'));
          return;
        }
        this.checkRange(shape, value, path, out);
        return;
      case 'double':
      case 'float':
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          out.push(violation(path, value, 'Member must be a number'));
          return;
        }
        this.checkRange(shape, value, path, out);
        return;
      case 'boolean':
        if (typeof value !== 'boolean') out.push(violation(path, value, 'Member must be a boolean'));
        return;
      case 'timestamp':
        if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
          out.push(violation(path, value, 'Member must be a timestamp (epoch seconds)'));
        }
        return;
      case 'blob':
        if (!Buffer.isBuffer(value)) {
          out.push(violation(path, value, 'Member must be base64-encoded binary data'));
          return;
        }
        this.checkSize(shape, value.length, '[binary]', path, out);
        return;
    }
  }

  private checkSize(shape: Shape, size: number, value: unknown, path: string, out: FieldViolation[]) {
    if (shape.min !== undefined && size < shape.min) {
      out.push(violation(path, value, `Member must have length greater than or equal to ${shape.min}`));
    } else if (shape.max !== undefined && size > shape.max) {
      out.push(violation(path, value, `Member must have length less than or equal to ${shape.max}`));
    }
  }

  private checkRange(shape: Shape, value: number, path: string, out: FieldViolation[]) {
    if (shape.min !== undefined && value < shape.min) {
      out.push(violation(path, value, `Member must have value greater than or equal to ${shape.min}`));
    } else if (shape.max !== undefined && value > shape.max) {
      out.push(violation(path, value, `Member must have value less than or equal to ${shape.max}`));
    }
  }
}
