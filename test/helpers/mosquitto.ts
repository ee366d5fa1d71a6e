// A private Mosquitto for scale-out tests, configured from the documented example (docs/mosquitto/): its own CA (which
// meadow then uses as MEADOW_CA_CERT_FILE), a broker certificate from it, meadow's service and bridge users, on free
// ports in a temporary directory.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  certificateSigningRequest,
  generateKeyPair,
  issueClientCertificateForRequest,
  issueServerCertificate,
  readSigningRequest,
  selfSignedCaCertificate,
  type Issuer,
  type KeyPairPem,
} from '../../src/devices/identity/certificates.js';
import { freePort } from './devices.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
const EXAMPLE_DIR = fileURLToPath(new URL('../../docs/mosquitto/', import.meta.url));
/** The values the example configuration holds for what a deployment adapts. */
const EXAMPLE = { dir: '/etc/mosquitto/meadow/', devicePort: 'listener 8883', servicePort: '1884', bridgePassword: 'change-me-bridge' };

export interface PrivateMosquitto {
  dir: string;
  /** Devices: mutual TLS with certificates from `ca`. */
  devicePort: number;
  /** meadow's processes (user `meadow`, password `servicePassword`), plain MQTT on loopback. */
  servicePort: number;
  servicePassword: string;
  /** The CA the broker trusts for devices; its files are `caCertFile` / `caKeyFile` (meadow's MEADOW_CA_*). */
  ca: Issuer;
  caCertFile: string;
  caKeyFile: string;
  /** The example configuration as run, for a test to read. */
  config: string;
  /** Broker output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Waits until something accepts TCP connections on the port. */
async function listening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto is not listening on ${port}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPrivateMosquitto(): Promise<PrivateMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'meadow-mosquitto-'));
  const [devicePort, servicePort] = [await freePort(), await freePort()];
  const caKeys = await generateKeyPair();
  const now = Date.now();
  const caPem = selfSignedCaCertificate(caKeys, 'meadow scale-out test CA', new Date(now - 60_000), new Date(now + 365 * 86_400_000));
  const ca: Issuer = { certificatePem: caPem, privateKeyPem: caKeys.privateKeyPem };
  const brokerKeys = await generateKeyPair();
  const brokerPem = issueServerCertificate(ca, brokerKeys.publicKeyPem, ['127.0.0.1', 'localhost'], new Date(now - 60_000), new Date(now + 86_400_000));
  const caCertFile = join(dir, 'meadow-ca.pem');
  const caKeyFile = join(dir, 'meadow-ca.key');
  writeFileSync(caCertFile, caPem);
  writeFileSync(caKeyFile, caKeys.privateKeyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'broker.pem'), brokerPem);
  writeFileSync(join(dir, 'broker.key'), brokerKeys.privateKeyPem, { mode: 0o600 });
  for (const acl of ['devices.acl', 'meadow.acl']) copyFileSync(join(EXAMPLE_DIR, acl), join(dir, acl));

  const servicePassword = `svc-${now}`;
  const bridgePassword = `bridge-${now}`;
  const passwords = join(dir, 'passwords');
  execFileSync('mosquitto_passwd', ['-b', '-c', passwords, 'meadow', servicePassword]);
  execFileSync('mosquitto_passwd', ['-b', passwords, 'meadow-bridge', bridgePassword]);

  const example = readFileSync(join(EXAMPLE_DIR, 'meadow.conf'), 'utf8');
  for (const v of Object.values(EXAMPLE)) if (!example.includes(v)) throw new Error(`docs/mosquitto/meadow.conf no longer holds '${v}'`);
  const config = example
    .replaceAll(EXAMPLE.dir, `${dir}/`)
    .replaceAll(EXAMPLE.devicePort, `listener ${devicePort} 127.0.0.1`)
    .replaceAll(EXAMPLE.servicePort, String(servicePort))
    .replaceAll(EXAMPLE.bridgePassword, bridgePassword);
  const configFile = join(dir, 'mosquitto.conf');
  writeFileSync(configFile, config);
  // Started as root, mosquitto drops to its own user, which must still read these (throwaway) files.
  if (process.getuid?.() === 0) {
    chmodSync(dir, 0o755);
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  }

  const child = spawn(MOSQUITTO, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await listening(devicePort, child, () => output);
    await listening(servicePort, child, () => output);
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    devicePort,
    servicePort,
    servicePassword,
    ca,
    caCertFile,
    caKeyFile,
    config,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A device certificate whose subject CN is `commonName`, straight from the CA (for broker-only checks). */
export function deviceCertificate(ca: Issuer, keys: KeyPairPem, commonName: string): string {
  const now = Date.now();
  return issueClientCertificateForRequest(ca, readSigningRequest(certificateSigningRequest(keys, commonName)), new Date(now - 60_000), new Date(now + 86_400_000));
}
