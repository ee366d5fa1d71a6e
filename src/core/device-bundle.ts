// The bundle `meadow provision` writes for a device and the device side reads back: what each file is called, and
// what config.json holds. Shared by both sides, so it lives here.

/** File names in the bundle; AmazonRootCA1.pem is the root the nucleus is told to trust, here meadow's CA. */
export const BUNDLE_FILES = {
  certificate: 'device.pem.crt',
  privateKey: 'private.pem.key',
  rootCa: 'AmazonRootCA1.pem',
  config: 'config.json',
} as const;

/** config.json of a bundle. */
export interface DeviceBundleConfig {
  thingName: string;
  region: string;
  /** MQTT host:port devices connect to. */
  iotDataEndpoint: string;
  dataPlaneEndpoint: string;
  controlPlaneEndpoint: string;
}
