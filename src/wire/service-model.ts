// Loads a vendored AWS service model (botocore JSON) and answers the questions the wire layer asks of it:
// which operation a request is, what shape its input/output has, which errors it models.
// Doc-only constraints the model cannot carry are added from model/patches.json, in data, not in handlers; so are
// operations AWS serves but leaves out of the public model (the Greengrass device data plane).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface MemberRef {
  shape: string;
  location?: 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';
  locationName?: string;
  idempotencyToken?: boolean;
}

export interface Shape {
  type: 'structure' | 'string' | 'integer' | 'long' | 'double' | 'float' | 'boolean' | 'timestamp' | 'blob' | 'list' | 'map';
  members?: Record<string, MemberRef>;
  required?: string[];
  payload?: string;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  member?: MemberRef;
  key?: MemberRef;
  value?: MemberRef;
  error?: { httpStatusCode: number; code?: string; senderFault?: boolean };
  exception?: boolean;
}

export interface Operation {
  name: string;
  http: { method: string; requestUri: string; responseCode?: number };
  input?: { shape: string };
  output?: { shape: string };
  errors?: { shape: string }[];
}

export interface RawModel {
  metadata: { endpointPrefix: string; signingName?: string; serviceId: string; apiVersion: string };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

const MODEL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'model');

export class ServiceModel {
  readonly shapes: Record<string, Shape>;
  readonly operations: Record<string, Operation>;
  /** SigV4 credential-scope service: botocore falls back to endpointPrefix when signingName is absent. */
  readonly signingName: string;

  constructor(readonly id: string, raw: RawModel, patches: ModelPatch[] = []) {
    this.shapes = raw.shapes;
    this.operations = raw.operations;
    this.signingName = raw.metadata.signingName ?? raw.metadata.endpointPrefix;
    for (const p of patches) {
      if ('add' in p) {
        for (const name of [...Object.keys(p.add.operations ?? {}), ...Object.keys(p.add.shapes ?? {})]) {
          if (this.operations[name] || this.shapes[name]) throw new Error(`model patch for ${id}: ${name} already exists`);
        }
        Object.assign(this.operations, p.add.operations);
        Object.assign(this.shapes, p.add.shapes);
        continue;
      }
      const target = this.shapes[p.shape];
      if (!target) throw new Error(`model patch for ${id}: no shape ${p.shape}`);
      Object.assign(target, p.set);
    }
  }

  shape(name: string): Shape {
    const s = this.shapes[name];
    if (!s) throw new Error(`${this.id}: unknown shape ${name}`);
    return s;
  }

  static load(file: string): ServiceModel {
    const raw = JSON.parse(readFileSync(join(MODEL_DIR, `${file}.json`), 'utf8')) as RawModel;
    const allPatches = JSON.parse(readFileSync(join(MODEL_DIR, 'patches.json'), 'utf8')) as Record<string, ModelPatch[]>;
    return new ServiceModel(file, raw, allPatches[file] ?? []);
  }
}

export interface ShapePatch {
  shape: string;
  set: Partial<Shape>;
  why: string;
}

/** Operations (and the shapes they need) missing from the public model. */
export interface AddPatch {
  add: { operations?: Record<string, Operation>; shapes?: Record<string, Shape> };
  why: string;
}

export type ModelPatch = ShapePatch | AddPatch;
