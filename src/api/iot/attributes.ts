// Attribute payload rules shared by things and thing groups.
import { invalid } from '../../core/errors.js';

export const MAX_ATTRIBUTES = 50;

/**
 * Applies an AttributePayload: with merge, given keys are upserted and a key with an empty value is removed;
 * without merge, the given attributes replace the stored ones.
 */
export function applyAttributePayload(
  current: Record<string, string>,
  payload: { attributes?: Record<string, string>; merge?: boolean } | undefined,
): Record<string, string> {
  if (!payload?.attributes) return current;
  const next: Record<string, string> = payload.merge ? { ...current } : {};
  for (const [k, v] of Object.entries(payload.attributes)) {
    if (v === '') delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > MAX_ATTRIBUTES) {
    throw invalid(`A resource can have at most ${MAX_ATTRIBUTES} attributes; this request would leave ${Object.keys(next).length}.`);
  }
  return next;
}

export const sameAttributes = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
