// Is a presented client certificate a device's identity? The MQTT broker and the HTTPS data plane ask this at the
// TLS handshake: issued by meadow's CA, within its validity, known to meadow, ACTIVE, and attached to a thing — the
// thing the device says it is, when it says (an MQTT client id; a thing named in a data-plane request).
import { X509Certificate } from 'node:crypto';
import { certificateArn } from '../../core/arn.js';
import type { Clock } from '../../core/clock.js';
import type { Scope, Store } from '../../store/store.js';
import type { CertificateAuthority } from './ca.js';
import { certificateIdOf } from './certificates.js';

export type DeviceCertificateCheck =
  | { ok: true; certificateId: string }
  /** `otherThing`: a device identity, but not attached to the thing it claimed to be. */
  | { ok: false; reason: string; certificateId?: string; otherThing?: true };

export interface VerifyDeps {
  store: Store;
  scope: Scope;
  ca: CertificateAuthority;
  clock: Clock;
}

/** Attached things named in a refusal, so an operator sees which client id the certificate is for. */
const THINGS_NAMED_IN_REFUSAL = 5;

/**
 * Checks the certificate, and that it is attached to `actingFor` when given (to some thing otherwise). Connects are
 * the hot path, so an accepted `actingFor` costs one attachment lookup, whatever the number of things attached.
 */
export async function verifyDeviceCertificate(deps: VerifyDeps, presented: string | Uint8Array, actingFor?: string): Promise<DeviceCertificateCheck> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(typeof presented === 'string' ? presented : Buffer.from(presented));
  } catch (e) {
    return { ok: false, reason: `not an X.509 certificate: ${(e as Error).message}` };
  }
  const certificateId = certificateIdOf(cert.raw);
  if (!cert.checkIssued(deps.ca.x509) || !cert.verify(deps.ca.x509.publicKey)) {
    return { ok: false, certificateId, reason: "the certificate was not issued by meadow's certificate authority" };
  }
  const now = deps.clock.now();
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
    return { ok: false, certificateId, reason: `the certificate is not valid now (valid from ${cert.validFrom} to ${cert.validTo})` };
  }
  const known = await deps.store.getCertificate(deps.scope, certificateId);
  if (!known) return { ok: false, certificateId, reason: `certificate ${certificateId} is not registered (it may have been deleted)` };
  if (known.status !== 'ACTIVE') return { ok: false, certificateId, reason: `certificate ${certificateId} is ${known.status}` };
  return checkAttachment(deps, certificateId, actingFor);
}

/** Whether an ACTIVE device certificate is attached to the thing (or to any thing), and if not, why not. */
export async function checkAttachment(
  deps: Pick<VerifyDeps, 'store' | 'scope'>,
  certificateId: string,
  thingName?: string,
): Promise<DeviceCertificateCheck> {
  const principal = certificateArn(deps.scope, certificateId);
  if (thingName !== undefined && (await deps.store.getThingPrincipal(deps.scope, thingName, principal))) return { ok: true, certificateId };
  const attached = await deps.store.listThingsOfPrincipal(deps.scope, principal, { limit: thingName === undefined ? 1 : THINGS_NAMED_IN_REFUSAL });
  if (attached.items.length === 0) return { ok: false, certificateId, reason: `certificate ${certificateId} is not attached to any thing` };
  if (thingName === undefined) return { ok: true, certificateId };
  const names = attached.items.map((a) => a.thingName).join(', ') + (attached.next === undefined ? '' : ', ...');
  return { ok: false, certificateId, otherThing: true, reason: `certificate ${certificateId} is not attached to thing ${thingName} (it is attached to ${names})` };
}
