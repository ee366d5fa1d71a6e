// Shadows in the store: the rules of src/core/shadow applied under the shadow's row lock (Store.lockShadow), inside
// the caller's transaction, with the resulting messages announced after commit (shadow-events.ts). Who may touch
// which shadow is the caller's business (the broker lets a thing use only its own topics).
import {
  applyShadowUpdate,
  deleteAccepted,
  getAccepted,
  noShadow,
  versionAfterDeletion,
  type ShadowDocument,
  type ShadowRequestBase,
  type ShadowUpdateRequest,
} from '../core/shadow/index.js';
import type { Scope, Store, StoredShadow } from '../store/store.js';
import { shadowChanged } from './shadow-events.js';

/** A thing's shadow: shadowName '' is its classic shadow. */
export interface ShadowRef {
  thingName: string;
  shadowName: string;
}

export const CLASSIC_SHADOW = '';

/** The shadow as it exists now, or undefined (never created, or deleted). */
export async function existingShadow(store: Store, scope: Scope, ref: ShadowRef): Promise<StoredShadow | undefined> {
  const row = await store.getShadow(scope, ref.thingName, ref.shadowName);
  return row && row.deletedAt === undefined ? row : undefined;
}

/** get/accepted for the shadow; throws the 404 ShadowError when it does not exist. */
export async function getShadowDocument(store: Store, scope: Scope, now: number, ref: ShadowRef, request: ShadowRequestBase): Promise<Record<string, unknown>> {
  const shadow = await existingShadow(store, scope, ref);
  if (!shadow) throw noShadow(ref.thingName, ref.shadowName);
  return getAccepted(shadow, now, request.clientToken);
}

/** Applies an update (creating the shadow if need be); returns the shadow before (if it existed) and after. */
export async function updateShadow(
  tx: Store,
  scope: Scope,
  now: number,
  ref: ShadowRef,
  request: ShadowUpdateRequest,
): Promise<{ before?: ShadowDocument; after: StoredShadow }> {
  const row = await tx.lockShadow(scope, ref.thingName, ref.shadowName);
  const current = row.deletedAt === undefined ? row : undefined;
  const lastVersion = current ? current.version : versionAfterDeletion(row.version, row.deletedAt!, now);
  const outcome = applyShadowUpdate(current, lastVersion, request, now);
  const after: StoredShadow = {
    ...ref,
    ...outcome.document,
    createdAt: current ? row.createdAt : now,
    updatedAt: now,
  };
  await tx.putShadow(scope, after);
  const messages = [
    { topic: 'update/accepted', payload: outcome.accepted },
    { topic: 'update/documents', payload: outcome.documents },
    ...(outcome.delta ? [{ topic: 'update/delta', payload: outcome.delta }] : []),
  ];
  shadowChanged(tx, { scope, ...ref, messages });
  return { before: current, after };
}

/** Deletes the shadow (its version is kept for a shadow created again); throws the 404 ShadowError when there is none. */
export async function deleteShadow(tx: Store, scope: Scope, now: number, ref: ShadowRef, request: ShadowRequestBase): Promise<void> {
  const row = await tx.lockShadow(scope, ref.thingName, ref.shadowName);
  if (row.deletedAt !== undefined) throw noShadow(ref.thingName, ref.shadowName);
  const accepted = deleteAccepted(row, now, request);
  await tx.putShadow(scope, { ...row, state: {}, metadata: {}, updatedAt: now, deletedAt: now });
  shadowChanged(tx, { scope, ...ref, messages: [{ topic: 'delete/accepted', payload: accepted }] });
}
