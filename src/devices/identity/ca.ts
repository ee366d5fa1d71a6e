// meadow's own certificate authority: it signs every device certificate (CreateKeysAndCertificate) and will sign
// the MQTT broker's and data plane's server certificates, so a device trusts meadow through one root, which the
// device bundle ships under the name the nucleus expects (AmazonRootCA1.pem).
//
// Where it comes from: the operator's files (MEADOW_CA_CERT_FILE / MEADOW_CA_KEY_FILE), or else the database.
// The database, not the data directory, so that several meadow processes on one PostgreSQL share one CA: the first
// process to start creates it, and an insert that does nothing on conflict makes every process read back the same one.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Clock } from '../../core/clock.js';
import type { Store } from '../../store/store.js';
import { generateKeyPair, selfSignedCaCertificate, toCertificateTime, type Issuer } from './certificates.js';

/** How long a generated CA is valid; device certificates are valid until the CA expires. */
const GENERATED_CA_YEARS = 30;
const GENERATED_CA_NAME = 'meadow device CA';

export interface CertificateAuthority extends Issuer {
  /** Hex SHA-256 of the CA certificate's DER: its IoT certificate id (caCertificateId). */
  id: string;
  x509: X509Certificate;
  notBefore: number; // epoch ms
  notAfter: number;
  createdAt: number;
  source: 'files' | 'database';
}

export interface CaSettings {
  caCertFile?: string;
  caKeyFile?: string;
}

/** Checks that a certificate and key form a usable CA and describes it; throws with the reason otherwise. */
export function certificateAuthorityFrom(
  certificatePem: string,
  privateKeyPem: string,
  source: CertificateAuthority['source'],
  createdAt: number,
): CertificateAuthority {
  const x509 = new X509Certificate(certificatePem);
  if (!x509.ca) throw new Error('the CA certificate is not a CA certificate (basicConstraints cA is not set)');
  const key = createPrivateKey(privateKeyPem);
  if (!x509.checkPrivateKey(key)) throw new Error('the CA private key does not belong to the CA certificate');
  // node-forge, which signs the certificates, signs with RSA keys only.
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`the CA key must be an RSA key, got ${key.asymmetricKeyType}`);
  return {
    certificatePem: x509.toString(),
    privateKeyPem,
    id: createHash('sha256').update(x509.raw).digest('hex'),
    x509,
    notBefore: Date.parse(x509.validFrom),
    notAfter: Date.parse(x509.validTo),
    createdAt,
    source,
  };
}

/** A new self-signed CA, valid from now for GENERATED_CA_YEARS. */
export async function generateCertificateAuthority(now: number): Promise<{ certificatePem: string; privateKeyPem: string }> {
  const keys = await generateKeyPair();
  const notBefore = toCertificateTime(now);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + GENERATED_CA_YEARS);
  return { certificatePem: selfSignedCaCertificate(keys, GENERATED_CA_NAME, notBefore, notAfter), privateKeyPem: keys.privateKeyPem };
}

/** The CA this meadow issues with: the operator's files when configured, else the database's (created if missing). */
export async function loadCertificateAuthority(settings: CaSettings, store: Store, clock: Clock): Promise<CertificateAuthority> {
  if (settings.caCertFile && settings.caKeyFile) {
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (e) {
        throw new Error(`cannot read the CA ${what} file ${file}: ${(e as Error).message}`);
      }
    };
    try {
      return certificateAuthorityFrom(read(settings.caCertFile, 'certificate'), read(settings.caKeyFile, 'key'), 'files', clock.now());
    } catch (e) {
      throw new Error(`MEADOW_CA_CERT_FILE / MEADOW_CA_KEY_FILE: ${(e as Error).message}`);
    }
  }
  let stored = await store.getCertificateAuthority();
  if (!stored) {
    const now = clock.now();
    await store.insertCertificateAuthorityIfAbsent({ ...(await generateCertificateAuthority(now)), createdAt: now });
    stored = await store.getCertificateAuthority();
    if (!stored) throw new Error('the certificate authority could not be stored');
  }
  return certificateAuthorityFrom(stored.certificatePem, stored.privateKeyPem, 'database', stored.createdAt);
}
