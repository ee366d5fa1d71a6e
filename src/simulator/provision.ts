// Registering a simulated fleet through meadow's IoT API (the AWS SDK, as any client would): things, certificates
// attached to them, and membership of a thing group. A real device has its own certificate, but each
// CreateKeysAndCertificate costs the server an RSA-2048 key generation (~150 ms of CPU on a small machine), so a
// large simulated fleet shares certificates: up to 250 things get one certificate attached to them all (AWS IoT
// allows such non-exclusive attachments; meadow's broker admits the certificate for each of those things).
// The identities can be kept in a cache file, so a second run reuses the things and their keys.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  AddThingToThingGroupCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeCACertificateCommand,
  DescribeCertificateCommand,
  ListThingsInThingGroupCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  type IoTClient,
} from '@aws-sdk/client-iot';
import { forEachLimited, type ProvisionedDevice } from './device.js';

/** Where devices register (the IoT API) and connect (host:port of the MQTT endpoint). */
export interface FleetEndpoint {
  iot: IoTClient;
  mqttEndpoint: string;
  /** The root devices trust; looked up from the first certificate's issuer when not given. */
  caPem?: string;
}

/** Things one certificate is attached to, at most (meadow's broker reads up to 250 per certificate). */
export const MAX_THINGS_PER_CERTIFICATE = 250;

export interface ProvisionFleetOptions {
  groupName?: string;
  /** Things sharing one certificate (1 = a certificate each, like real devices). */
  devicesPerCertificate?: number;
  /** API requests in flight at once. */
  concurrency?: number;
  /** A JSON file that keeps the identities: those found there (and still registered) are reused. */
  cacheFile?: string;
  /** Called as things are registered, with how many are done. */
  onProgress?(done: number, total: number): void;
}

interface CachedCertificate {
  certificateId: string;
  certificateArn: string;
  certificatePem: string;
  privateKeyPem: string;
  things: string[];
}

interface FleetCache {
  mqttEndpoint: string;
  caPem: string;
  certificates: CachedCertificate[];
}

/** Registers (or reuses) a thing for every name and returns the identities, in the order of `names`. */
export async function provisionFleet(e: FleetEndpoint, names: string[], opts: ProvisionFleetOptions = {}): Promise<ProvisionedDevice[]> {
  const perCertificate = opts.devicesPerCertificate ?? 1;
  if (!(perCertificate >= 1 && perCertificate <= MAX_THINGS_PER_CERTIFICATE)) {
    throw new Error(`devices per certificate must be between 1 and ${MAX_THINGS_PER_CERTIFICATE}, got ${perCertificate}`);
  }
  const concurrency = opts.concurrency ?? 32;
  const cache = opts.cacheFile ? await usableCache(e, opts.cacheFile) : undefined;
  const certificates = cache?.certificates ?? [];
  const known = new Set(certificates.flatMap((c) => c.things));
  const wanted = new Set(names);

  // New things, in shares of one certificate each.
  const missing = names.filter((n) => !known.has(n));
  const shares: string[][] = [];
  for (let i = 0; i < missing.length; i += perCertificate) shares.push(missing.slice(i, i + perCertificate));
  const created: CachedCertificate[] = new Array(shares.length);
  await forEachLimited(shares, Math.min(concurrency, 8), async (things, i) => {
    const cert = await e.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    created[i] = {
      certificateId: cert.certificateId!,
      certificateArn: cert.certificateArn!,
      certificatePem: cert.certificatePem!,
      privateKeyPem: cert.keyPair!.PrivateKey!,
      things,
    };
  });
  certificates.push(...created);
  const caPem = e.caPem ?? cache?.caPem ?? (certificates.length > 0 ? await caOf(e.iot, certificates[0].certificateId) : '');
  const save = () => opts.cacheFile && writeCache(opts.cacheFile, { mqttEndpoint: e.mqttEndpoint, caPem, certificates });
  save(); // a private key is handed out only once: keep it before anything else can fail

  if (opts.groupName) {
    await e.iot.send(new CreateThingGroupCommand({ thingGroupName: opts.groupName })).catch((err) => {
      if (!(err instanceof ResourceAlreadyExistsException)) throw err;
    });
  }
  const members = opts.groupName && cache ? await groupMembers(e.iot, opts.groupName) : new Set<string>();
  const jobs = created.flatMap((c) => c.things.map((thingName) => ({ thingName, cert: c, isNew: true })));
  for (const c of cache?.certificates ?? []) {
    if (created.includes(c)) continue;
    for (const thingName of c.things) if (wanted.has(thingName) && !members.has(thingName)) jobs.push({ thingName, cert: c, isNew: false });
  }
  let done = names.length - jobs.length;
  await forEachLimited(jobs, concurrency, async ({ thingName, cert, isNew }) => {
    if (isNew) {
      await e.iot.send(new CreateThingCommand({ thingName })).catch((err) => {
        if (!(err instanceof ResourceAlreadyExistsException)) throw err;
      });
      await e.iot.send(new AttachThingPrincipalCommand({ thingName, principal: cert.certificateArn }));
    }
    if (opts.groupName) await e.iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: opts.groupName }));
    opts.onProgress?.(++done, names.length);
  });

  const byThing = new Map<string, ProvisionedDevice>();
  for (const c of certificates) {
    for (const thingName of c.things) {
      byThing.set(thingName, {
        thingName,
        certificateId: c.certificateId,
        certificatePem: c.certificatePem,
        privateKeyPem: c.privateKeyPem,
        caPem,
        endpoint: e.mqttEndpoint,
      });
    }
  }
  return names.map((n) => byThing.get(n)!);
}

/** The cache's certificates that the server still knows as ACTIVE; none when it was made for another endpoint. */
async function usableCache(e: FleetEndpoint, file: string): Promise<FleetCache | undefined> {
  if (!existsSync(file)) return undefined;
  const cache = JSON.parse(readFileSync(file, 'utf8')) as FleetCache;
  if (cache.mqttEndpoint !== e.mqttEndpoint) return undefined;
  const alive: CachedCertificate[] = [];
  await forEachLimited(cache.certificates, 8, async (c) => {
    try {
      const d = await e.iot.send(new DescribeCertificateCommand({ certificateId: c.certificateId }));
      if (d.certificateDescription?.status === 'ACTIVE') alive.push(c);
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
  });
  return { ...cache, certificates: alive };
}

function writeCache(file: string, cache: FleetCache): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(cache), { mode: 0o600 }); // private keys
  renameSync(tmp, file);
}

async function caOf(iot: IoTClient, certificateId: string): Promise<string> {
  const d = await iot.send(new DescribeCertificateCommand({ certificateId }));
  const caId = d.certificateDescription?.caCertificateId;
  if (!caId) throw new Error(`certificate ${certificateId} names no issuing CA; is this a meadow server?`);
  const ca = await iot.send(new DescribeCACertificateCommand({ certificateId: caId }));
  return ca.certificateDescription!.certificatePem!;
}

async function groupMembers(iot: IoTClient, thingGroupName: string): Promise<Set<string>> {
  const members = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await iot.send(new ListThingsInThingGroupCommand({ thingGroupName, maxResults: 250, nextToken }));
    for (const t of page.things ?? []) members.add(t);
    nextToken = page.nextToken;
  } while (nextToken);
  return members;
}
