// The AWS IoT Device Shadow service's rules (IOTDOC `device-shadow-document`, `device-shadow-data-flow`,
// `device-shadow-error-messages`): how an update changes a shadow, the delta, the documents each reply carries, and
// the limits with AWS's error codes and messages. Pure: no I/O; times are epoch milliseconds in, seconds out.
import { MeadowError, type ErrorKind } from '../errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** `desired` and `reported`; a section is absent when it holds nothing. */
export interface ShadowState {
  desired?: JsonObject;
  reported?: JsonObject;
}

/** The same shape as the state, every value replaced by `{timestamp}` (arrays element by element). */
export type ShadowMetadata = ShadowState;

/** A shadow as it is kept: its state, metadata and version. */
export interface ShadowDocument {
  state: ShadowState;
  metadata: ShadowMetadata;
  version: number;
}

export const SHADOW_SECTIONS = ['desired', 'reported'] as const;
export type ShadowSection = (typeof SHADOW_SECTIONS)[number];

/** Each section of a shadow's state may take this many bytes of JSON (metadata does not count). */
export const SHADOW_SECTION_MAX_BYTES = 8 * 1024;
/** Objects and arrays nest at most this deep inside `desired` or `reported`. */
export const SHADOW_MAX_DEPTH = 6;
/** A client token longer than this is refused ("Invalid clientToken"). */
export const CLIENT_TOKEN_MAX_BYTES = 64;
/** Named shadows: 1..64 of these characters. */
export const SHADOW_NAME_PATTERN = /^[a-zA-Z0-9:_-]{1,64}$/;
/** A deleted shadow's version carries over to a shadow created again within this time; after it, versions restart. */
export const DELETED_VERSION_KEPT_MS = 48 * 3600 * 1000;

/** A refused shadow request: `code` is the HTTP status the Shadow service gives it. */
export class ShadowError extends MeadowError {
  constructor(
    readonly code: 400 | 404 | 409 | 413 | 415,
    message: string,
  ) {
    super(KIND_OF_CODE[code], message);
  }
}

const KIND_OF_CODE: Record<ShadowError['code'], ErrorKind> = {
  400: 'Invalid',
  404: 'NotFound',
  409: 'VersionConflict',
  413: 'LimitExceeded',
  415: 'Invalid',
};

/** The code of any error as a shadow rejection; what is not a ShadowError is the service's fault (500). */
export function shadowErrorCode(e: unknown): number {
  if (e instanceof ShadowError) return e.code;
  if (e instanceof MeadowError && e.kind === 'VersionConflict') return 409;
  return 500;
}

export const versionConflict = () => new ShadowError(409, 'Version conflict');
export const noShadow = (thingName: string, shadowName: string) => new ShadowError(404, `No shadow exists with name: '${shadowName || thingName}'`);

// ---- requests ----

export interface ShadowRequestBase {
  clientToken?: string;
  /** The version the caller expects the shadow to have; absent = no check. */
  version?: number;
}

export interface ShadowUpdateRequest extends ShadowRequestBase {
  /** null = clear both sections; a section set to null is cleared; a key set to null is removed. */
  state: { desired?: JsonObject | null; reported?: JsonObject | null } | null;
}

/**
 * Reads a request payload (UTF-8 JSON; an empty payload is `{}` for get and delete). Throws ShadowError 400/415 with
 * the Shadow service's messages.
 */
export function parseShadowRequest(kind: 'get' | 'delete', raw: Buffer): ShadowRequestBase;
export function parseShadowRequest(kind: 'update', raw: Buffer): ShadowUpdateRequest;
export function parseShadowRequest(kind: 'get' | 'update' | 'delete', raw: Buffer): ShadowRequestBase | ShadowUpdateRequest {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ShadowError(415, 'Unsupported documented encoding; supported encoding is UTF-8');
  }
  let body: unknown = {};
  if (text.trim() !== '' || kind === 'update') {
    try {
      body = JSON.parse(text);
    } catch {
      throw new ShadowError(400, 'Invalid JSON');
    }
  }
  if (!isObject(body)) throw new ShadowError(400, 'Invalid JSON');
  const out: ShadowUpdateRequest = { state: null };
  if (body.clientToken !== undefined) {
    if (typeof body.clientToken !== 'string' || Buffer.byteLength(body.clientToken, 'utf8') > CLIENT_TOKEN_MAX_BYTES) {
      throw new ShadowError(400, 'Invalid clientToken');
    }
    out.clientToken = body.clientToken;
  }
  if (body.version !== undefined) {
    if (typeof body.version !== 'number' || !Number.isSafeInteger(body.version) || body.version < 0) throw new ShadowError(400, 'Invalid version');
    out.version = body.version;
  }
  if (kind !== 'update') return { clientToken: out.clientToken, version: out.version };

  if (!('state' in body)) throw new ShadowError(400, 'Missing required node: state');
  const state = body.state;
  if (state !== null) {
    if (!isObject(state)) throw new ShadowError(400, 'State node must be an object');
    out.state = {};
    for (const [key, value] of Object.entries(state)) {
      if (key !== 'desired' && key !== 'reported') throw new ShadowError(400, 'State contains an invalid node');
      if (value !== null && !isObject(value)) throw new ShadowError(400, key === 'desired' ? 'Desired node must be an object' : 'Reported node must be an object');
      if (value !== null && depthOf(value) > SHADOW_MAX_DEPTH) throw new ShadowError(400, `JSON contains too many levels of nesting; maximum is ${SHADOW_MAX_DEPTH}`);
      out.state[key] = value as JsonObject | null;
    }
  }
  return out;
}

/** Levels of objects and arrays in a section: `{"a": 1}` is 1, `{"a": {"b": 1}}` is 2. */
function depthOf(value: Json): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (isObject(value)) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

// ---- update ----

export interface ShadowUpdateOutcome {
  document: ShadowDocument;
  /** update/accepted: the request's state, the metadata of what it touched, the new version. */
  accepted: Record<string, unknown>;
  /** update/documents: the shadow before (absent when it did not exist) and after. */
  documents: Record<string, unknown>;
  /** update/delta, when the update touched `desired` and desired still differs from reported. */
  delta?: Record<string, unknown>;
}

/**
 * Applies an update to a shadow (`current` undefined when it does not exist; `lastVersion` the version it had when
 * deleted, or 0). Only the named fields change: a section or key set to null is removed, objects merge key by key,
 * anything else (arrays included) is replaced whole. Every accepted update adds one to the version.
 */
export function applyShadowUpdate(current: ShadowDocument | undefined, lastVersion: number, request: ShadowUpdateRequest, now: number): ShadowUpdateOutcome {
  const version = current?.version ?? lastVersion;
  if (request.version !== undefined && request.version !== version) throw versionConflict();
  const timestamp = seconds(now);
  const state: ShadowState = structuredClone(current?.state ?? {});
  const metadata: ShadowMetadata = structuredClone(current?.metadata ?? {});
  const touched: ShadowMetadata = {};
  const sections = request.state === null ? { desired: null, reported: null } : request.state;

  for (const section of SHADOW_SECTIONS) {
    if (!(section in sections)) continue;
    const change = sections[section];
    if (change === null || change === undefined) {
      delete state[section];
      delete metadata[section];
      continue;
    }
    const merged = mergeInto(state[section] ?? {}, metadata[section] ?? {}, change, timestamp);
    touched[section] = metadataOf(change, timestamp) as JsonObject;
    if (Object.keys(merged.value).length === 0) {
      delete state[section];
      delete metadata[section];
    } else {
      state[section] = merged.value;
      metadata[section] = merged.metadata;
    }
    const bytes = Buffer.byteLength(JSON.stringify(state[section] ?? {}), 'utf8');
    if (bytes > SHADOW_SECTION_MAX_BYTES) throw new ShadowError(413, 'The payload exceeds the maximum size allowed');
  }

  const document: ShadowDocument = { state, metadata, version: version + 1 };
  const token = request.clientToken === undefined ? {} : { clientToken: request.clientToken };
  const accepted = { state: request.state === null ? {} : request.state, metadata: touched, version: document.version, timestamp, ...token };
  const documents = {
    ...(current ? { previous: snapshot(current) } : {}),
    current: snapshot(document),
    timestamp,
    ...token,
  };
  const outcome: ShadowUpdateOutcome = { document, accepted, documents };
  if (sections.desired != null) {
    const delta = deltaOf(document);
    if (delta) outcome.delta = { version: document.version, timestamp, state: delta.state, metadata: delta.metadata, ...token };
  }
  return outcome;
}

/** The fields of `desired` that differ from `reported` (nested objects compared key by key), with their metadata. */
export function deltaOf(doc: Pick<ShadowDocument, 'state' | 'metadata'>): { state: JsonObject; metadata: JsonObject } | undefined {
  const desired = doc.state.desired;
  if (!desired) return undefined;
  const d = diff(desired, doc.state.reported ?? {}, doc.metadata.desired ?? {});
  return d && Object.keys(d.state).length > 0 ? d : undefined;
}

function diff(desired: JsonObject, reported: JsonObject, meta: JsonObject): { state: JsonObject; metadata: JsonObject } | undefined {
  const state: JsonObject = {};
  const metadata: JsonObject = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = reported[key];
    if (isObject(want) && isObject(have)) {
      const inner = diff(want, have, isObject(meta[key]) ? meta[key] : {});
      if (inner) {
        state[key] = inner.state;
        metadata[key] = inner.metadata;
      }
    } else if (!sameJson(want, have)) {
      state[key] = want;
      if (meta[key] !== undefined) metadata[key] = meta[key];
    }
  }
  return Object.keys(state).length > 0 ? { state, metadata } : undefined;
}

// ---- get / delete ----

/** get/accepted: state with its delta, metadata, version. */
export function getAccepted(doc: ShadowDocument, now: number, clientToken?: string): Record<string, unknown> {
  const delta = deltaOf(doc);
  return {
    state: { ...doc.state, ...(delta ? { delta: delta.state } : {}) },
    metadata: doc.metadata,
    version: doc.version,
    timestamp: seconds(now),
    ...(clientToken === undefined ? {} : { clientToken }),
  };
}

/** delete/accepted: the version the shadow had, and when. */
export function deleteAccepted(doc: ShadowDocument, now: number, request: ShadowRequestBase): Record<string, unknown> {
  if (request.version !== undefined && request.version !== doc.version) throw versionConflict();
  return { version: doc.version, timestamp: seconds(now), ...(request.clientToken === undefined ? {} : { clientToken: request.clientToken }) };
}

/** The version a shadow created now starts from: the deleted one's within 48 hours, else 0. */
export function versionAfterDeletion(deletedVersion: number, deletedAt: number, now: number): number {
  return now - deletedAt <= DELETED_VERSION_KEPT_MS ? deletedVersion : 0;
}

/** The `/rejected` payload: `{code, message, timestamp, clientToken}`; faults of meadow's say no more than AWS does. */
export function errorPayload(e: unknown, now: number, clientToken?: string): Record<string, unknown> {
  const code = shadowErrorCode(e);
  return {
    code,
    message: code === 500 ? 'Internal service failure' : (e as Error).message,
    timestamp: seconds(now),
    ...(clientToken === undefined ? {} : { clientToken }),
  };
}

// ---- helpers ----

const seconds = (ms: number) => Math.floor(ms / 1000);

const snapshot = (d: ShadowDocument) => ({ state: d.state, metadata: d.metadata, version: d.version });

function mergeInto(value: JsonObject, meta: JsonObject, change: JsonObject, timestamp: number): { value: JsonObject; metadata: JsonObject } {
  for (const [key, next] of Object.entries(change)) {
    if (next === null) {
      delete value[key];
      delete meta[key];
    } else if (isObject(next) && isObject(value[key])) {
      const inner = mergeInto(value[key] as JsonObject, isObject(meta[key]) ? (meta[key] as JsonObject) : {}, next, timestamp);
      if (Object.keys(inner.value).length === 0) {
        // Emptied by deletions: gone, as a key set to null is.
        delete value[key];
        delete meta[key];
      } else {
        value[key] = inner.value;
        meta[key] = inner.metadata;
      }
    } else {
      value[key] = structuredClone(next);
      meta[key] = metadataOf(next, timestamp);
    }
  }
  return { value, metadata: meta };
}

/** `{timestamp}` for a value; objects and arrays get one per member. */
function metadataOf(value: Json, timestamp: number): Json {
  if (Array.isArray(value)) return value.map((v) => metadataOf(v, timestamp));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, metadataOf(v, timestamp)]));
  return { timestamp };
}

function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
  }
  return false;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
