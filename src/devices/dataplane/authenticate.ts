// Who is calling the device data plane: the client certificate of the TLS connection, not a signature. The TLS
// handshake already required a certificate chaining to meadow's CA; each request then asks the registry whether it
// is still a device's identity (known, ACTIVE, attached), so deactivating or revoking a certificate takes effect on
// the next request, even on a kept-alive connection. Any SigV4 header a client sends along is ignored.
import type { TLSSocket } from 'node:tls';
import type { Clock } from '../../core/clock.js';
import type { Scope, Store } from '../../store/store.js';
import type { Authenticate, Authorize } from '../../wire/aws-api.js';
import { AuthError } from '../../wire/sigv4.js';
import type { CertificateAuthority } from '../identity/ca.js';
import { checkAttachment, verifyDeviceCertificate } from '../identity/verify.js';

export interface DeviceAuthDeps {
  store: Store;
  scope: Scope;
  clock: Clock;
  ca: () => Promise<CertificateAuthority>;
}

export function authenticateDevice(deps: DeviceAuthDeps): Authenticate {
  return async (req) => {
    const peer = (req.raw.socket as TLSSocket).getPeerCertificate?.();
    if (!peer?.raw) throw new AuthError('MissingAuthenticationTokenException', 'The request was not made with a client certificate.');
    const check = await verifyDeviceCertificate({ store: deps.store, scope: deps.scope, clock: deps.clock, ca: await deps.ca() }, peer.raw);
    if (!check.ok) throw new AuthError('AccessDeniedException', `The client certificate is not accepted: ${check.reason}.`);
    return { throttleKey: check.certificateId, device: { certificateId: check.certificateId } };
  };
}

/** A device acts only for its own thing: every thing named in the input must be one its certificate is attached to. */
export function authorizeDevice(deps: Pick<DeviceAuthDeps, 'store' | 'scope'>): Authorize {
  return async (caller, operation, input) => {
    for (const member of ['thingName', 'coreDeviceThingName']) {
      const thing = input[member];
      if (typeof thing !== 'string') continue;
      const check = caller.device ? await checkAttachment(deps, caller.device.certificateId, thing) : undefined;
      if (!check?.ok) {
        throw new AuthError(
          'AccessDeniedException',
          `The client certificate is not attached to thing ${thing}; a device may call ${operation} only for its own thing.`,
        );
      }
    }
  };
}
