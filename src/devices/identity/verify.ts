// Is a presented client certificate a device's identity? The MQTT broker and the HTTPS data plane ask this at the
// TLS handshake: issued by meadow's CA, within its validity, known to meadow, ACTIVE, and attached to a thing.
import { X509Certificate } from 'node:crypto';
import { certificateArn } from '../../core/arn.js';
import type { Clock } from '../../core/clock.js';
import type { Scope, Store } from '../../store/store.js';
import type { CertificateAuthority } from './ca.js';
import { certificateIdOf } from './certificates.js';

export type DeviceCertificateCheck =
  | { ok: true; certificateId: string; thingNames: string[] }
  | { ok: false; reason: string; certificateId?: string };

export interface VerifyDeps {
  store: Store;
  scope: Scope;
  ca: CertificateAuthority;
  clock: Clock;
}

/** Things one certificate may act for; more than this many attachments are not expected of a device certificate. */
const MAX_THINGS_PER_CERTIFICATE = 250;

export async function verifyDeviceCertificate(deps: VerifyDeps, presented: string | Uint8Array): Promise<DeviceCertificateCheck> {
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
  const attached = await deps.store.listThingsOfPrincipal(deps.scope, certificateArn(deps.scope, certificateId), { limit: MAX_THINGS_PER_CERTIFICATE });
  if (attached.items.length === 0) return { ok: false, certificateId, reason: `certificate ${certificateId} is not attached to any thing` };
  return { ok: true, certificateId, thingNames: attached.items.map((a) => a.thingName) };
}
