// Reading the bundle `meadow provision` wrote (src/core/device-bundle.ts names its files): the device's certificate,
// key, the root it trusts, and where to reach meadow. Every device-side client starts from it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_FILES, type DeviceBundleConfig } from '../core/device-bundle.js';

export interface DeviceBundle {
  config: DeviceBundleConfig;
  certificatePem: string;
  privateKeyPem: string;
  /** The root the device trusts for meadow's server certificates (meadow's CA). */
  caPem: string;
}

export function readDeviceBundle(dir: string): DeviceBundle {
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    config: JSON.parse(read(BUNDLE_FILES.config)) as DeviceBundleConfig,
    certificatePem: read(BUNDLE_FILES.certificate),
    privateKeyPem: read(BUNDLE_FILES.privateKey),
    caPem: read(BUNDLE_FILES.rootCa),
  };
}
