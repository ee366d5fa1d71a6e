// The TLS identity of meadow's device endpoints (MQTT broker and HTTPS data plane): one server certificate from
// meadow's CA, issued once per start, and the mutual-TLS settings both listeners use.
import type { CertificateAuthority } from './ca.js';
import { generateKeyPair, issueServerCertificate, toCertificateTime } from './certificates.js';

const SERVER_CERTIFICATE_DAYS = 365;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface DeviceEndpointTls {
  key: string;
  cert: string;
  ca: string[];
  requestCert: true;
  rejectUnauthorized: true;
}

/** The names devices may reach the endpoints by: the loopback names, and the listen address unless a wildcard. */
export function serverHosts(host: string): string[] {
  const hosts = ['localhost', '127.0.0.1'];
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  if (!wildcard && !hosts.includes(host)) hosts.push(host);
  return hosts;
}

/**
 * A server certificate for `host`, and TLS options that ask every client for a certificate chaining to meadow's CA.
 * Validity follows real time, not meadow's clock: TLS peers check it against their own clocks (a day of slack back).
 */
export async function deviceEndpointTls(ca: CertificateAuthority, host: string): Promise<DeviceEndpointTls> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = issueServerCertificate(
    ca,
    keys.publicKeyPem,
    serverHosts(host),
    toCertificateTime(now - DAY_MS),
    new Date(Math.min(ca.notAfter, now + SERVER_CERTIFICATE_DAYS * DAY_MS)),
  );
  return { key: keys.privateKeyPem, cert, ca: [ca.certificatePem], requestCert: true, rejectUnauthorized: true };
}
