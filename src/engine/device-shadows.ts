// The device side of shadows (what the MQTT shadow API serves): get, update and delete of a thing's own shadows, each
// in one transaction. An update of the deployment shadow's reported state also records the deployment status it
// carries (thing-deployments.ts), in the same transaction.
import { DEPLOYMENT_SHADOW_NAME } from '../core/device-document/index.js';
import { parseShadowRequest } from '../core/shadow/index.js';
import type { Scope, Store } from '../store/store.js';
import { deleteShadow, getShadowDocument, updateShadow, type ShadowRef } from './shadows.js';
import { recordDeviceReport } from './thing-deployments.js';

/** get/accepted; throws a ShadowError. */
export function getForDevice(store: Store, scope: Scope, now: number, ref: ShadowRef, raw: Buffer): Promise<Record<string, unknown>> {
  return getShadowDocument(store, scope, now, ref, parseShadowRequest('get', raw));
}

/** Applies the update; its messages go out through shadow-events once committed. Throws a ShadowError. */
export async function updateForDevice(store: Store, scope: Scope, now: number, ref: ShadowRef, raw: Buffer): Promise<void> {
  const request = parseShadowRequest('update', raw);
  await store.transaction(async (tx) => {
    const { after } = await updateShadow(tx, scope, now, ref, request);
    const reportedTouched = request.state === null || request.state.reported != null;
    if (ref.shadowName === DEPLOYMENT_SHADOW_NAME && reportedTouched) await recordDeviceReport(tx, scope, ref.thingName, after.state.reported, now);
  });
}

/** Deletes the shadow; delete/accepted goes out through shadow-events once committed. Throws a ShadowError. */
export async function deleteForDevice(store: Store, scope: Scope, now: number, ref: ShadowRef, raw: Buffer): Promise<void> {
  const request = parseShadowRequest('delete', raw);
  await store.transaction((tx) => deleteShadow(tx, scope, now, ref, request));
}
