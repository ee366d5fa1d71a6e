// `meadow provision`: registers a device with a running meadow through its IoT API (the AWS SDK, as any client
// would) and writes the bundle a Greengrass nucleus starts from: its certificate and key, the root it trusts, and
// where to reach meadow.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AddThingToThingGroupCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeCACertificateCommand,
  DescribeCertificateCommand,
  DescribeThingCommand,
  IoTClient,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-iot';
import { configFromEnv, type Config } from '../config.js';
import { readStoredCredentials } from '../credentials.js';
import { BUNDLE_FILES, type DeviceBundleConfig } from '../core/device-bundle.js';
import { certificateSigningRequest, generateKeyPair } from './identity/certificates.js';

export { BUNDLE_FILES, type DeviceBundleConfig };

export interface ProvisionOptions {
  /** The control-plane endpoint, e.g. http://127.0.0.1:8080. */
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  thingName: string;
  thingGroupName?: string;
  outDir: string;
  /** MQTT host:port devices connect to. */
  iotDataEndpoint: string;
  /** https://host:port of the data plane. */
  dataPlaneEndpoint: string;
}


export interface ProvisionResult {
  thingArn: string;
  certificateId: string;
  certificateArn: string;
  files: string[];
}

export async function provisionDevice(opts: ProvisionOptions): Promise<ProvisionResult> {
  // A bundle's private key exists nowhere else; never overwrite one.
  const keyFile = join(opts.outDir, BUNDLE_FILES.privateKey);
  if (existsSync(keyFile)) throw new Error(`${opts.outDir} already holds a device identity (${BUNDLE_FILES.privateKey}); choose another --out directory`);
  mkdirSync(opts.outDir, { recursive: true });

  const iot = new IoTClient({ endpoint: opts.endpoint, region: opts.region, credentials: opts.credentials });
  try {
    // An existing thing (say, with attributes CreateThing would not repeat) is provisioned as it is.
    await iot.send(new CreateThingCommand({ thingName: opts.thingName })).catch((e) => {
      if (!(e instanceof ResourceAlreadyExistsException)) throw e;
    });
    const thing = await iot.send(new DescribeThingCommand({ thingName: opts.thingName }));
    if (opts.thingGroupName) {
      await iot.send(new CreateThingGroupCommand({ thingGroupName: opts.thingGroupName })).catch((e) => {
        if (!(e instanceof ResourceAlreadyExistsException)) throw e;
      });
      await iot.send(new AddThingToThingGroupCommand({ thingName: opts.thingName, thingGroupName: opts.thingGroupName }));
    }

    // The key is made here and never leaves this machine; the certificate's common name is the thing name, which an
    // external broker in scale-out mode takes as the device's identity (docs/scale-out.md).
    const keys = await generateKeyPair();
    const created = await iot.send(
      new CreateCertificateFromCsrCommand({ certificateSigningRequest: certificateSigningRequest(keys, opts.thingName), setAsActive: true }),
    );
    const certificateId = created.certificateId!;
    const certificateArn = created.certificateArn!;
    writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(join(opts.outDir, BUNDLE_FILES.certificate), created.certificatePem!);

    await iot.send(new AttachThingPrincipalCommand({ thingName: opts.thingName, principal: certificateArn }));

    const description = await iot.send(new DescribeCertificateCommand({ certificateId }));
    const caId = description.certificateDescription?.caCertificateId;
    if (!caId) throw new Error(`certificate ${certificateId} names no issuing CA; is ${opts.endpoint} a meadow server?`);
    const ca = await iot.send(new DescribeCACertificateCommand({ certificateId: caId }));
    writeFileSync(join(opts.outDir, BUNDLE_FILES.rootCa), ca.certificateDescription!.certificatePem!);

    const config: DeviceBundleConfig = {
      thingName: opts.thingName,
      region: opts.region,
      iotDataEndpoint: opts.iotDataEndpoint,
      dataPlaneEndpoint: opts.dataPlaneEndpoint,
      controlPlaneEndpoint: opts.endpoint,
    };
    writeFileSync(join(opts.outDir, BUNDLE_FILES.config), JSON.stringify(config, null, 2) + '\n');
    return { thingArn: thing.thingArn!, certificateId, certificateArn, files: Object.values(BUNDLE_FILES).map((f) => join(opts.outDir, f)) };
  } finally {
    iot.destroy();
  }
}

const USAGE = 'usage: meadow provision --thing-name NAME [--thing-group GROUP] --out DIR [--endpoint URL]';

/** Signing credentials: meadow's own variables, then the AWS_* ones, then the key generated in the data directory. */
function clientCredentials(config: Config, env: NodeJS.ProcessEnv): ProvisionOptions['credentials'] {
  if (config.accessKeyId && config.secretAccessKey) return { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  }
  const stored = readStoredCredentials(config.dataDir);
  if (stored) return { accessKeyId: stored.accessKeyId, secretAccessKey: stored.secretAccessKey };
  throw new Error(
    `no credentials: set MEADOW_ACCESS_KEY_ID/MEADOW_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or MEADOW_DATA_DIR to the server's data directory (no credentials.json in ${config.dataDir})`,
  );
}

/** The options of `meadow provision`, from its arguments and the environment. */
export function provisionOptionsFrom(args: string[], env: NodeJS.ProcessEnv = process.env): ProvisionOptions {
  let values: { 'thing-name'?: string; 'thing-group'?: string; out?: string; endpoint?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { 'thing-name': { type: 'string' }, 'thing-group': { type: 'string' }, out: { type: 'string' }, endpoint: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  if (!values['thing-name'] || !values.out) throw new Error(`--thing-name and --out are required\n${USAGE}`);
  const config = configFromEnv(env);
  // A server listening on every interface is reached on loopback from its own host.
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const endpoint = (values.endpoint ?? `http://${host}:${config.port}`).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`--endpoint must be a URL such as http://127.0.0.1:8080, got '${endpoint}'`);
  }
  return {
    endpoint,
    region: config.region,
    credentials: clientCredentials(config, env),
    thingName: values['thing-name'],
    thingGroupName: values['thing-group'],
    outDir: values.out,
    // Devices reach the broker and the data plane on the host they reach the control plane at.
    iotDataEndpoint: `${url.hostname}:${config.mqttPort}`,
    dataPlaneEndpoint: `https://${url.hostname}:${config.dataPlanePort}`,
  };
}

/** `meadow provision ...` */
export async function provision(args: string[]): Promise<void> {
  const opts = provisionOptionsFrom(args);
  const result = await provisionDevice(opts);
  process.stdout.write(
    [
      `provisioned thing ${opts.thingName}${opts.thingGroupName ? ` (in thing group ${opts.thingGroupName})` : ''}`,
      `certificate ${result.certificateId} (ACTIVE, attached)`,
      ...result.files.map((f) => `wrote ${f}`),
      '',
    ].join('\n'),
  );
}
