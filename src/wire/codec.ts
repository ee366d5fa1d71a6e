// restJson1 request parsing and response serialization, driven by the model's member locations
// (uri / querystring / header / body), jsonName renames (locationName on body members), and types:
// body timestamps are epoch seconds, blobs are base64, absent members are omitted.
import type { FieldViolation } from '../core/errors.js';
import type { MemberRef, Operation, ServiceModel, Shape } from './service-model.js';

export class CannotParse extends Error {}

export interface RawRequest {
  labels: Record<string, string>;
  query: Map<string, string[]>;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
}

export interface ParsedInput {
  input: Record<string, unknown>;
  /** Values that could not be converted to the member's type (query/header strings). */
  violations: FieldViolation[];
}

export interface SerializedOutput {
  status: number;
  headers: Record<string, string>;
  body: string | undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeQueryPart(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new CannotParse(`Malformed percent-encoding in query string: '${raw}'`);
  }
}

export function parseQuery(rawQuery: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!rawQuery) return out;
  for (const pair of rawQuery.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = decodeQueryPart(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? '' : decodeQueryPart(pair.slice(eq + 1));
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

export class Codec {
  constructor(private readonly model: ServiceModel) {}

  parseInput(op: Operation, req: RawRequest): ParsedInput {
    const input: Record<string, unknown> = {};
    const violations: FieldViolation[] = [];
    if (!op.input) return { input, violations };
    const shape = this.model.shape(op.input.shape);
    const bodyMembers: [string, MemberRef][] = [];
    for (const [name, ref] of Object.entries(shape.members ?? {})) {
      switch (ref.location) {
        case 'uri': {
          const v = req.labels[ref.locationName ?? name];
          if (v !== undefined) input[name] = this.fromString(ref, v, name, violations);
          break;
        }
        case 'querystring': {
          const values = req.query.get(ref.locationName ?? name);
          if (!values) break;
          const target = this.model.shape(ref.shape);
          input[name] =
            target.type === 'list'
              ? values.map((v, i) => this.fromString(target.member!, v, `${name}[${i}]`, violations))
              : this.fromString(ref, values[0], name, violations);
          break;
        }
        case 'header': {
          const h = req.headers[(ref.locationName ?? name).toLowerCase()];
          if (h !== undefined) input[name] = this.fromString(ref, Array.isArray(h) ? h.join(',') : h, name, violations);
          break;
        }
        case 'headers':
        case 'statusCode':
          break;
        default:
          bodyMembers.push([name, ref]);
      }
    }
    if (bodyMembers.length > 0 && req.body && req.body.length > 0) {
      let json: unknown;
      try {
        json = JSON.parse(req.body.toString('utf8'));
      } catch (e) {
        throw new CannotParse(`Request body is not valid JSON: ${(e as Error).message}`);
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new CannotParse('Request body must be a JSON object');
      }
      const obj = json as Record<string, unknown>;
      for (const [name, ref] of bodyMembers) {
        const v = obj[ref.locationName ?? name];
        if (v !== undefined && v !== null) input[name] = this.fromJson(ref, v);
      }
    }
    return { input, violations };
  }

  serializeOutput(op: Operation, output: Record<string, unknown> | undefined): SerializedOutput {
    const status = op.http.responseCode ?? 200;
    const headers: Record<string, string> = {};
    if (!op.output) return { status, headers, body: status === 204 ? undefined : '{}' };
    const shape = this.model.shape(op.output.shape);
    const body: Record<string, unknown> = {};
    for (const [name, ref] of Object.entries(shape.members ?? {})) {
      const v = output?.[name];
      if (v === undefined || v === null) continue;
      if (ref.location === 'header') headers[ref.locationName ?? name] = String(v);
      else if (!ref.location) body[ref.locationName ?? name] = this.toJson(ref, v);
    }
    return { status, headers, body: JSON.stringify(body) };
  }

  /** Serialize a modelled error shape's members: body members and header-bound ones (Retry-After). */
  serializeError(shapeName: string, members: Record<string, unknown>): { headers: Record<string, string>; body: Record<string, unknown> } {
    const shape = this.model.shapes[shapeName];
    const headers: Record<string, string> = {};
    const body: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(members)) {
      if (v === undefined || v === null) continue;
      const ref = shape?.members?.[name];
      if (ref?.location === 'header') headers[ref.locationName ?? name] = String(v);
      else body[ref?.locationName ?? name] = ref ? this.toJson(ref, v) : v;
    }
    return { headers, body };
  }

  private fromString(ref: MemberRef, raw: string, path: string, violations: FieldViolation[]): unknown {
    const shape = this.model.shape(ref.shape);
    const bad = (what: string) => {
      violations.push({ name: path, message: `Value '${raw}' at '${path}' failed to satisfy constraint: Member must be ${what}` });
      return undefined;
    };
    switch (shape.type) {
      case 'integer':
      case 'long':
        return /^-?\d+$/.test(raw) ? Number(raw) : bad('an integer');
      case 'double':
      case 'float':
        return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : bad('a number');
      case 'boolean':
        return raw === 'true' ? true : raw === 'false' ? false : bad('a boolean (true or false)');
      case 'timestamp': {
        const d = new Date(raw);
        return Number.isNaN(d.getTime()) ? bad('an ISO 8601 timestamp') : d;
      }
      default:
        return raw;
    }
  }

  private fromJson(ref: MemberRef, v: unknown): unknown {
    const shape: Shape = this.model.shape(ref.shape);
    switch (shape.type) {
      case 'structure': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
        const src = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [name, mref] of Object.entries(shape.members ?? {})) {
          const mv = src[mref.locationName ?? name];
          if (mv !== undefined && mv !== null) out[name] = this.fromJson(mref, mv);
        }
        return out;
      }
      case 'list':
        return Array.isArray(v) ? v.map((item) => (item === null ? null : this.fromJson(shape.member!, item))) : v;
      case 'map': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
        const out: Record<string, unknown> = {};
        for (const [k, mv] of Object.entries(v as Record<string, unknown>)) {
          out[k] = mv === null ? null : this.fromJson(shape.value!, mv);
        }
        return out;
      }
      case 'timestamp':
        return typeof v === 'number' ? new Date(v * 1000) : v;
      case 'blob':
        return typeof v === 'string' && BASE64.test(v) ? Buffer.from(v, 'base64') : v;
      default:
        return v;
    }
  }

  private toJson(ref: MemberRef, v: unknown): unknown {
    const shape = this.model.shape(ref.shape);
    switch (shape.type) {
      case 'structure': {
        const src = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [name, mref] of Object.entries(shape.members ?? {})) {
          const mv = src[name];
          if (mv !== undefined && mv !== null) out[mref.locationName ?? name] = this.toJson(mref, mv);
        }
        return out;
      }
      case 'list':
        return (v as unknown[]).map((item) => this.toJson(shape.member!, item));
      case 'map': {
        const out: Record<string, unknown> = {};
        for (const [k, mv] of Object.entries(v as Record<string, unknown>)) out[k] = this.toJson(shape.value!, mv);
        return out;
      }
      case 'timestamp':
        return v instanceof Date ? v.getTime() / 1000 : v;
      case 'blob':
        return Buffer.isBuffer(v) ? v.toString('base64') : v;
      default:
        return v;
    }
  }
}
