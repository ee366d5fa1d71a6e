// Device identity end to end: meadow's CA, device certificates (create, describe, update, delete and their state
// rules), attaching them to things, and the check the MQTT broker and data plane will run at the TLS handshake,
// through the real @aws-sdk/client-iot against a real server on every store.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AttachThingPrincipalCommand,
  CertificateStateException,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DeleteCertificateCommand,
  DeleteConflictException,
  DeleteThingCommand,
  DescribeCACertificateCommand,
  DescribeCertificateCommand,
  DetachThingPrincipalCommand,
  InvalidRequestException,
  ListPrincipalThingsCommand,
  ListThingPrincipalsCommand,
  ResourceNotFoundException,
  UpdateCertificateCommand,
  paginateListCertificates,
  paginateListThingPrincipals,
  type CertificateStatus,
} from '@aws-sdk/client-iot';
import { ManualClock } from '../src/core/clock.js';
import { generateCertificateAuthority, loadCertificateAuthority, certificateAuthorityFrom } from '../src/devices/identity/ca.js';
import { generateKeyPair, issueClientCertificate } from '../src/devices/identity/certificates.js';
import { verifyDeviceCertificate } from '../src/devices/identity/verify.js';
import { openStore } from '../src/store/open-store.js';
import type { Scope } from '../src/store/store.js';
import { createDatabase, STORE_KINDS } from './helpers/databases.js';
import { ACCOUNT, REGION, uniqueName } from './helpers/greengrass.js';
import { startTestServer, type TestServer, type TestServerOptions } from './helpers/server.js';

const SCOPE: Scope = { accountId: ACCOUNT, region: REGION };
const certArn = (id: string) => `arn:aws:iot:${REGION}:${ACCOUNT}:cert/${id}`;
const sha256Hex = (der: Buffer) => createHash('sha256').update(der).digest('hex');

/** Awaits a call that must fail with exactly `cls`, its modelled HTTP status, and a message matching every pattern. */
async function expectError<T extends Error>(call: Promise<unknown>, cls: new (...args: any[]) => T, status: number, ...messages: RegExp[]): Promise<T> {
  let caught: unknown;
  try {
    await call;
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof cls)) {
    const got = caught instanceof Error ? `${caught.name}: ${caught.message}` : 'success';
    assert.fail(`expected ${cls.name}, got ${got}`);
  }
  assert.equal((caught as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, status);
  for (const m of messages) assert.match(caught.message, m);
  return caught;
}

function useServer(kind: 'sqlite' | 'postgres', opts: TestServerOptions = {}) {
  let server: TestServer | undefined;
  before(async () => {
    server = await startTestServer(kind, opts);
  });
  after(() => server?.close());
  return {
    get server(): TestServer {
      assert.ok(server, 'server not started');
      return server;
    },
  };
}

for (const kind of STORE_KINDS) {
  describe(`device certificates (${kind})`, () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    const t = useServer(kind, { clock });
    const iot = () => t.server.iot;

    async function newCertificate(setAsActive = true) {
      const out = await iot().send(new CreateKeysAndCertificateCommand({ setAsActive }));
      return { id: out.certificateId!, arn: out.certificateArn!, pem: out.certificatePem!, keys: out.keyPair! };
    }
    async function newThing() {
      const name = uniqueName('device');
      await iot().send(new CreateThingCommand({ thingName: name }));
      return name;
    }
    const statusOf = async (id: string) => (await iot().send(new DescribeCertificateCommand({ certificateId: id }))).certificateDescription!.status;

    it('CreateKeysAndCertificate returns a certificate signed by meadow CA, its id, ARN and a matching key pair', async () => {
      const c = await newCertificate();
      const x509 = new X509Certificate(c.pem);
      assert.equal(c.id, sha256Hex(x509.raw));
      assert.equal(c.arn, certArn(c.id));
      assert.match(c.keys.PrivateKey!, /^-----BEGIN RSA PRIVATE KEY-----\n/);
      assert.match(c.keys.PublicKey!, /^-----BEGIN PUBLIC KEY-----\n/);
      assert.ok(x509.checkPrivateKey(createPrivateKey(c.keys.PrivateKey!)), 'the private key belongs to the certificate');
      assert.ok(x509.publicKey.equals(createPublicKey(c.keys.PublicKey!)));
      assert.deepEqual(x509.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'client authentication only');
      assert.equal(x509.ca, false);

      const d = (await iot().send(new DescribeCertificateCommand({ certificateId: c.id }))).certificateDescription!;
      const ca = (await iot().send(new DescribeCACertificateCommand({ certificateId: d.caCertificateId }))).certificateDescription!;
      const caX509 = new X509Certificate(ca.certificatePem!);
      assert.equal(caX509.ca, true);
      assert.equal(ca.certificateId, sha256Hex(caX509.raw));
      assert.equal(ca.certificateArn, `arn:aws:iot:${REGION}:${ACCOUNT}:cacert/${ca.certificateId}`);
      assert.equal(ca.status, 'ACTIVE');
      assert.ok(x509.checkIssued(caX509), 'issuer name is the CA subject');
      assert.ok(x509.verify(caX509.publicKey), 'signature verifies with the CA key');
      assert.equal(new X509Certificate(ca.certificatePem!).verify(caX509.publicKey), true, 'the CA is self-signed');
    });

    it('keeps no private key: the stored certificate holds the certificate only', async () => {
      const c = await newCertificate();
      const stored = await t.server.store.getCertificate(SCOPE, c.id);
      assert.ok(stored);
      assert.equal(stored.pem, c.pem);
      const keyBody = c.keys.PrivateKey!.split('\n')[1];
      assert.ok(!JSON.stringify(stored).includes(keyBody));
      if (kind === 'sqlite') {
        // Nor anywhere in the database files.
        for (const f of ['meadow.db', 'meadow.db-wal']) {
          const path = join(t.server.config.dataDir, f);
          if (existsSync(path)) assert.ok(!readFileSync(path).includes(keyBody), `${f} holds the private key`);
        }
      }
    });

    it('DescribeCertificate describes status, owner, dates and validity; ids are case-insensitive', async () => {
      const created = clock.now();
      const c = await newCertificate(false);
      const d = (await iot().send(new DescribeCertificateCommand({ certificateId: c.id.toUpperCase() }))).certificateDescription!;
      const x509 = new X509Certificate(c.pem);
      assert.equal(d.certificateArn, c.arn);
      assert.equal(d.certificateId, c.id);
      assert.equal(d.status, 'INACTIVE', 'setAsActive defaults to false');
      assert.equal(d.certificatePem, c.pem);
      assert.equal(d.ownedBy, ACCOUNT);
      assert.equal(d.creationDate?.getTime(), created);
      assert.equal(d.lastModifiedDate?.getTime(), created);
      assert.equal(d.customerVersion, 1);
      assert.equal(d.certificateMode, 'DEFAULT');
      assert.equal(d.validity?.notBefore?.getTime(), Date.parse(x509.validFrom));
      assert.equal(d.validity?.notAfter?.getTime(), Date.parse(x509.validTo));
      assert.equal(d.validity?.notBefore?.getTime(), created);
    });

    it('DescribeCertificate: unknown id is ResourceNotFoundException, a malformed one InvalidRequestException', async () => {
      await expectError(iot().send(new DescribeCertificateCommand({ certificateId: 'a'.repeat(64) })), ResourceNotFoundException, 404, /does not exist/);
      await expectError(iot().send(new DescribeCertificateCommand({ certificateId: 'abc123' })), InvalidRequestException, 400, /certificateId/);
      await expectError(iot().send(new DescribeCACertificateCommand({ certificateId: 'b'.repeat(64) })), ResourceNotFoundException, 404);
    });

    it('UpdateCertificate moves between ACTIVE and INACTIVE, counting versions and modification time', async () => {
      const c = await newCertificate(true);
      clock.advance(60_000);
      await iot().send(new UpdateCertificateCommand({ certificateId: c.id, newStatus: 'INACTIVE' }));
      let d = (await iot().send(new DescribeCertificateCommand({ certificateId: c.id }))).certificateDescription!;
      assert.equal(d.status, 'INACTIVE');
      assert.equal(d.customerVersion, 2);
      assert.equal(d.lastModifiedDate?.getTime(), clock.now());
      assert.equal(d.creationDate?.getTime(), clock.now() - 60_000);
      await iot().send(new UpdateCertificateCommand({ certificateId: c.id, newStatus: 'ACTIVE' }));
      d = (await iot().send(new DescribeCertificateCommand({ certificateId: c.id }))).certificateDescription!;
      assert.equal(d.status, 'ACTIVE');
      assert.equal(d.customerVersion, 3);
      // Setting the status it has changes nothing.
      await iot().send(new UpdateCertificateCommand({ certificateId: c.id, newStatus: 'ACTIVE' }));
      assert.equal((await iot().send(new DescribeCertificateCommand({ certificateId: c.id }))).certificateDescription!.customerVersion, 3);
    });

    it('UpdateCertificate: revocation is final (CertificateStateException), unsupported statuses are refused', async () => {
      const c = await newCertificate(true);
      await iot().send(new UpdateCertificateCommand({ certificateId: c.id, newStatus: 'REVOKED' }));
      assert.equal(await statusOf(c.id), 'REVOKED');
      await expectError(iot().send(new UpdateCertificateCommand({ certificateId: c.id, newStatus: 'ACTIVE' })), CertificateStateException, 406, /REVOKED/, /cannot become ACTIVE/);
      await expectError(iot().send(new UpdateCertificateCommand({ certificateId: c.id, newStatus: 'INACTIVE' })), CertificateStateException, 406, /cannot become INACTIVE/);
      await iot().send(new UpdateCertificateCommand({ certificateId: c.id, newStatus: 'REVOKED' }));
      assert.equal(await statusOf(c.id), 'REVOKED');

      const other = await newCertificate(false);
      for (const s of ['PENDING_TRANSFER', 'REGISTER_INACTIVE', 'PENDING_ACTIVATION'] as CertificateStatus[]) {
        await expectError(iot().send(new UpdateCertificateCommand({ certificateId: other.id, newStatus: s })), InvalidRequestException, 400, /newStatus/, new RegExp(s));
      }
      await expectError(iot().send(new UpdateCertificateCommand({ certificateId: other.id, newStatus: 'BOGUS' as CertificateStatus })), InvalidRequestException, 400, /newStatus/);
      assert.equal(await statusOf(other.id), 'INACTIVE');
      await expectError(iot().send(new UpdateCertificateCommand({ certificateId: 'c'.repeat(64), newStatus: 'ACTIVE' })), ResourceNotFoundException, 404);
    });

    it('DeleteCertificate is refused while ACTIVE or attached, and then succeeds', async () => {
      const c = await newCertificate(true);
      const thing = await newThing();
      await iot().send(new AttachThingPrincipalCommand({ thingName: thing, principal: c.arn }));
      await expectError(iot().send(new DeleteCertificateCommand({ certificateId: c.id })), CertificateStateException, 406, /ACTIVE/);
      await iot().send(new UpdateCertificateCommand({ certificateId: c.id, newStatus: 'INACTIVE' }));
      await expectError(iot().send(new DeleteCertificateCommand({ certificateId: c.id, forceDelete: true })), DeleteConflictException, 409, new RegExp(`attached to thing ${thing}`));
      await iot().send(new DetachThingPrincipalCommand({ thingName: thing, principal: c.arn }));
      await iot().send(new DeleteCertificateCommand({ certificateId: c.id }));
      await expectError(iot().send(new DescribeCertificateCommand({ certificateId: c.id })), ResourceNotFoundException, 404);
      await expectError(iot().send(new DeleteCertificateCommand({ certificateId: c.id })), ResourceNotFoundException, 404);

      const revoked = await newCertificate(true);
      await iot().send(new UpdateCertificateCommand({ certificateId: revoked.id, newStatus: 'REVOKED' }));
      await iot().send(new DeleteCertificateCommand({ certificateId: revoked.id }));
      await expectError(iot().send(new DescribeCertificateCommand({ certificateId: revoked.id })), ResourceNotFoundException, 404);
    });

    it('ListCertificates pages through every certificate in creation order, either way', async () => {
      // A server of its own: the listing then holds exactly these certificates.
      const own = await startTestServer(kind, { clock: new ManualClock(Date.UTC(2026, 0, 1)) });
      try {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await own.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: i % 2 === 0 }))).certificateId!);
        const collect = async (ascendingOrder: boolean) => {
          const seen: string[] = [];
          for await (const page of paginateListCertificates({ client: own.iot, pageSize: 2 }, { ascendingOrder })) {
            assert.ok(page.certificates!.length <= 2);
            if (page.nextMarker) assert.match(page.nextMarker, /^[A-Za-z0-9+/]+={0,2}$/);
            for (const c of page.certificates!) {
              assert.equal(c.certificateArn, certArn(c.certificateId!));
              seen.push(c.certificateId!);
            }
          }
          return seen;
        };
        // All five were created at the same instant: the id orders them among themselves.
        const ascending = await collect(true);
        assert.deepEqual(ascending, [...ids].sort());
        assert.deepEqual(await collect(false), [...ids].sort().reverse());
      } finally {
        await own.close();
      }
    });

    it('AttachThingPrincipal / ListThingPrincipals / ListPrincipalThings / DetachThingPrincipal', async () => {
      const c = await newCertificate(true);
      const [a, b] = [await newThing(), await newThing()];
      await iot().send(new AttachThingPrincipalCommand({ thingName: a, principal: c.arn }));
      await iot().send(new AttachThingPrincipalCommand({ thingName: a, principal: c.arn })); // attaching twice is fine
      await iot().send(new AttachThingPrincipalCommand({ thingName: b, principal: c.arn }));
      assert.deepEqual((await iot().send(new ListThingPrincipalsCommand({ thingName: a }))).principals, [c.arn]);
      assert.deepEqual((await iot().send(new ListPrincipalThingsCommand({ principal: c.arn }))).things, [a, b].sort());

      await iot().send(new DetachThingPrincipalCommand({ thingName: a, principal: c.arn }));
      await iot().send(new DetachThingPrincipalCommand({ thingName: a, principal: c.arn })); // and detaching twice
      assert.deepEqual((await iot().send(new ListThingPrincipalsCommand({ thingName: a }))).principals, []);
      assert.deepEqual((await iot().send(new ListPrincipalThingsCommand({ principal: c.arn }))).things, [b]);
    });

    it('ListThingPrincipals pages with nextToken', async () => {
      const thing = await newThing();
      const arns: string[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await newCertificate(false);
        arns.push(c.arn);
        await iot().send(new AttachThingPrincipalCommand({ thingName: thing, principal: c.arn }));
      }
      const seen: string[] = [];
      let pages = 0;
      for await (const page of paginateListThingPrincipals({ client: iot(), pageSize: 1 }, { thingName: thing })) {
        pages++;
        seen.push(...page.principals!);
      }
      assert.deepEqual(seen, [...arns].sort());
      assert.ok(pages >= 3);
    });

    it('exclusive attachments: a principal attached exclusively belongs to one thing only', async () => {
      const c = await newCertificate(true);
      const [a, b] = [await newThing(), await newThing()];
      await iot().send(new AttachThingPrincipalCommand({ thingName: a, principal: c.arn, thingPrincipalType: 'EXCLUSIVE_THING' }));
      await expectError(iot().send(new AttachThingPrincipalCommand({ thingName: b, principal: c.arn })), InvalidRequestException, 400, new RegExp(`attached exclusively to thing ${a}`));
      await iot().send(new DetachThingPrincipalCommand({ thingName: a, principal: c.arn }));
      await iot().send(new AttachThingPrincipalCommand({ thingName: a, principal: c.arn }));
      await iot().send(new AttachThingPrincipalCommand({ thingName: b, principal: c.arn }));
      await expectError(
        iot().send(new AttachThingPrincipalCommand({ thingName: a, principal: c.arn, thingPrincipalType: 'EXCLUSIVE_THING' })),
        InvalidRequestException,
        400,
        new RegExp(`attached to thing ${b} too`),
      );
    });

    it('principal and thing errors: unknown thing or certificate, non-certificate or foreign principals', async () => {
      const c = await newCertificate(true);
      const thing = await newThing();
      await expectError(iot().send(new AttachThingPrincipalCommand({ thingName: 'no-such-thing', principal: c.arn })), ResourceNotFoundException, 404, /no-such-thing/);
      await expectError(iot().send(new AttachThingPrincipalCommand({ thingName: thing, principal: certArn('d'.repeat(64)) })), ResourceNotFoundException, 404, /does not exist/);
      for (const principal of ['us-east-1:1234abcd-12ab-34cd-56ef-1234567890ab', `arn:aws:iot:${REGION}:210987654321:cert/${c.id}`, `arn:aws:iot:eu-west-1:${ACCOUNT}:cert/${c.id}`]) {
        await expectError(iot().send(new AttachThingPrincipalCommand({ thingName: thing, principal })), InvalidRequestException, 400, /principal/, /certificate ARN/);
      }
      await expectError(iot().send(new ListThingPrincipalsCommand({ thingName: 'no-such-thing' })), ResourceNotFoundException, 404);
      await expectError(iot().send(new ListPrincipalThingsCommand({ principal: certArn('e'.repeat(64)) })), ResourceNotFoundException, 404);
      await expectError(iot().send(new DetachThingPrincipalCommand({ thingName: 'no-such-thing', principal: c.arn })), ResourceNotFoundException, 404);
    });

    it('DeleteThing is refused while a principal is attached', async () => {
      const c = await newCertificate(true);
      const thing = await newThing();
      await iot().send(new AttachThingPrincipalCommand({ thingName: thing, principal: c.arn }));
      await expectError(iot().send(new DeleteThingCommand({ thingName: thing })), InvalidRequestException, 400, /principals attached/);
      await iot().send(new DetachThingPrincipalCommand({ thingName: thing, principal: c.arn }));
      await iot().send(new DeleteThingCommand({ thingName: thing }));
    });

    it('verifyDeviceCertificate accepts only known, ACTIVE, attached certificates of meadow CA', async () => {
      const ca = await loadCertificateAuthority(t.server.config, t.server.store, clock);
      const deps = { store: t.server.store, scope: SCOPE, ca, clock };
      const [a, b] = [await newThing(), await newThing()];

      const good = await newCertificate(true);
      await iot().send(new AttachThingPrincipalCommand({ thingName: a, principal: good.arn }));
      await iot().send(new AttachThingPrincipalCommand({ thingName: b, principal: good.arn }));
      assert.deepEqual(await verifyDeviceCertificate(deps, good.pem), { ok: true, certificateId: good.id });
      assert.deepEqual(await verifyDeviceCertificate(deps, new X509Certificate(good.pem).raw), { ok: true, certificateId: good.id });
      // Acting for a thing: accepted for each thing it is attached to; for another, refused naming the ones it is.
      assert.deepEqual(await verifyDeviceCertificate(deps, good.pem, b), { ok: true, certificateId: good.id });
      const c = await newThing();
      const other = await verifyDeviceCertificate(deps, good.pem, c);
      assert.equal(other.ok, false);
      assert.equal((other as { otherThing?: true }).otherThing, true);
      assert.equal((other as { reason: string }).reason, `certificate ${good.id} is not attached to thing ${c} (it is attached to ${[a, b].sort().join(', ')})`);

      const expectRefused = async (cert: string | Uint8Array, reason: RegExp) => {
        const r = await verifyDeviceCertificate(deps, cert);
        assert.equal(r.ok, false);
        assert.match((r as { reason: string }).reason, reason);
      };
      const unattached = await newCertificate(true);
      await expectRefused(unattached.pem, /not attached to any thing/);

      const inactive = await newCertificate(false);
      await iot().send(new AttachThingPrincipalCommand({ thingName: a, principal: inactive.arn }));
      await expectRefused(inactive.pem, /is INACTIVE/);

      const revoked = await newCertificate(true);
      await iot().send(new AttachThingPrincipalCommand({ thingName: a, principal: revoked.arn }));
      await iot().send(new UpdateCertificateCommand({ certificateId: revoked.id, newStatus: 'REVOKED' }));
      await expectRefused(revoked.pem, /is REVOKED/);

      const deleted = await newCertificate(false);
      await iot().send(new DeleteCertificateCommand({ certificateId: deleted.id }));
      await expectRefused(deleted.pem, /not registered/);

      // Issued by another CA, even one with the same name.
      const foreignCa = await generateCertificateAuthority(clock.now());
      const keys = await generateKeyPair();
      const foreign = issueClientCertificate(foreignCa, keys.publicKeyPem, new Date(clock.now()), new Date(clock.now() + 86_400_000));
      await expectRefused(foreign, /not issued by meadow's certificate authority/);
      await expectRefused('-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n', /not an X.509 certificate/);

      // Outside its validity.
      const late = new ManualClock(Date.parse(new X509Certificate(good.pem).validTo) + 1000);
      const r = await verifyDeviceCertificate({ ...deps, clock: late }, good.pem);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, /not valid now/);
    });
  });

  describe(`certificate authority (${kind})`, () => {
    it('is created once per database, even when processes start at once, and survives restarts', async () => {
      const db = kind === 'postgres' ? await createDatabase() : undefined;
      const dataDir = mkdtempSync(join(tmpdir(), 'meadow-ca-'));
      const open = () => openStore({ databaseUrl: db?.url, dataDir });
      const [s1, s2] = [await open(), await open()];
      try {
        const clock = new ManualClock();
        const [x, y] = await Promise.all([loadCertificateAuthority({}, s1, clock), loadCertificateAuthority({}, s2, clock)]);
        assert.equal(x.id, y.id);
        assert.equal(x.source, 'database');
        assert.equal(x.x509.ca, true);
        await s1.close();
        const s3 = await open();
        assert.equal((await loadCertificateAuthority({}, s3, clock)).id, x.id);
        await s3.close();
      } finally {
        await s2.close();
        await db?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it("the operator's CA files, when given, sign the device certificates", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'meadow-ca-files-'));
      const own = await generateCertificateAuthority(Date.now());
      writeFileSync(join(dir, 'ca.crt'), own.certificatePem);
      writeFileSync(join(dir, 'ca.key'), own.privateKeyPem);
      const s = await startTestServer(kind, { config: { caCertFile: join(dir, 'ca.crt'), caKeyFile: join(dir, 'ca.key') } });
      try {
        const out = await s.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
        const ownX509 = new X509Certificate(own.certificatePem);
        assert.ok(new X509Certificate(out.certificatePem!).verify(ownX509.publicKey));
        const d = (await s.iot.send(new DescribeCertificateCommand({ certificateId: out.certificateId }))).certificateDescription!;
        assert.equal(d.caCertificateId, sha256Hex(ownX509.raw));
        assert.equal(await s.store.getCertificateAuthority(), undefined, 'nothing was generated in the database');
      } finally {
        await s.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe('operator CA files are checked', () => {
  it('refuses a key that is not the certificate’s, a non-CA certificate and a missing file', async () => {
    const a = await generateCertificateAuthority(Date.now());
    const b = await generateCertificateAuthority(Date.now());
    assert.throws(() => certificateAuthorityFrom(a.certificatePem, b.privateKeyPem, 'files', 0), /does not belong to the CA certificate/);
    const keys = await generateKeyPair();
    const leaf = issueClientCertificate(a, keys.publicKeyPem, new Date(), new Date(Date.now() + 86_400_000));
    assert.throws(() => certificateAuthorityFrom(leaf, keys.privateKeyPem, 'files', 0), /not a CA certificate/);
    await assert.rejects(
      loadCertificateAuthority({ caCertFile: '/nonexistent/ca.crt', caKeyFile: '/nonexistent/ca.key' }, undefined as never, new ManualClock()),
      /MEADOW_CA_CERT_FILE.*cannot read the CA certificate file \/nonexistent\/ca.crt/,
    );
  });
});
