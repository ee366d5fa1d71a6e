// IoT device certificates and their attachment to things: the identity a device presents to meadow's MQTT broker
// and data plane. Certificates are issued by meadow's own CA (src/devices/identity); their private keys are handed
// to the caller once and never stored.
import { randomUUID } from 'node:crypto';
import { caCertificateArn, certificateArn, inScope, parseCertificateArn } from '../../core/arn.js';
import { MeadowError, invalid, notFound } from '../../core/errors.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import {
  certificateIdOf,
  generateKeyPair,
  issueClientCertificate,
  issueClientCertificateForRequest,
  readSigningRequest,
  toCertificateTime,
  type SigningRequest,
} from '../../devices/identity/certificates.js';
import type { Certificate, CertificateStatus, Scope, Store, ThingPrincipalType } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';
import { DEFAULT_REGISTRY_PAGE, thingOrThrow } from './things.js';

/** ListCertificates' default pageSize, as AWS IoT's. */
const DEFAULT_CERTIFICATE_PAGE = 25;

const SETTABLE_STATUSES: CertificateStatus[] = ['ACTIVE', 'INACTIVE', 'REVOKED'];

/** Certificate ids are lowercase hex; the model's pattern also admits uppercase, which names the same certificate. */
const normalizeId = (id: string) => id.toLowerCase();

const certificateStateError = (message: string) => new MeadowError('Conflict', message, { errorShape: 'CertificateStateException' });

async function certificateOrThrow(store: Store, scope: Scope, id: string, { lock = false } = {}): Promise<Certificate> {
  const c = lock ? await store.lockCertificate(scope, id) : await store.getCertificate(scope, id);
  if (!c) throw notFound('certificate', id, `Certificate ${id} does not exist.`);
  return c;
}

/** The certificate a principal names; meadow's only kind of principal is a certificate ARN of its own scope. */
async function certificateOfPrincipal(store: Store, scope: Scope, principal: string, opts: { lock?: boolean } = {}): Promise<Certificate> {
  const ref = parseCertificateArn(principal);
  if (!ref || !inScope(ref, scope)) {
    throw invalid(`principal '${principal}' is not a certificate ARN of this account and region: meadow supports certificate principals only.`, [
      { name: 'principal', message: `Value '${principal}' at 'principal' failed to satisfy constraint: Member must be a certificate ARN arn:aws:iot:${scope.region}:${scope.accountId}:cert/CERTIFICATE_ID` },
    ]);
  }
  return certificateOrThrow(store, scope, normalizeId(ref.certificateId), opts);
}

const validity = (c: { notBefore: number; notAfter: number }) => ({ notBefore: new Date(c.notBefore), notAfter: new Date(c.notAfter) });

/** Issues a device certificate for `publicKeyPem` (or a CSR) with meadow's CA and stores it. */
async function issueDeviceCertificate(ctx: RequestContext, key: { publicKeyPem: string } | { request: SigningRequest }, setAsActive: boolean) {
  const ca = await ctx.ca();
  const now = ctx.clock.now();
  const notBefore = toCertificateTime(now);
  // Valid for as long as the CA is: AWS IoT's own device certificates are valid for decades too.
  const notAfter = toCertificateTime(ca.notAfter);
  if (notAfter <= notBefore) throw new MeadowError('Internal', `meadow's certificate authority expired on ${notAfter.toISOString()}; configure a new one.`);
  const pem = 'request' in key ? issueClientCertificateForRequest(ca, key.request, notBefore, notAfter) : issueClientCertificate(ca, key.publicKeyPem, notBefore, notAfter);
  const certificate: Certificate = {
    id: certificateIdOf(pem),
    pem,
    status: setAsActive ? 'ACTIVE' : 'INACTIVE',
    caCertificateId: ca.id,
    notBefore: notBefore.getTime(),
    notAfter: notAfter.getTime(),
    customerVersion: 1,
    generationId: randomUUID(),
    createdAt: now,
    lastModifiedAt: now,
  };
  await ctx.store.insertCertificate(ctx.scope, certificate);
  return { certificateArn: certificateArn(ctx.scope, certificate.id), certificateId: certificate.id, certificatePem: pem };
}

async function createKeysAndCertificate(ctx: RequestContext, input: Input) {
  const keys = await generateKeyPair();
  const issued = await issueDeviceCertificate(ctx, keys, !!input.setAsActive);
  return { ...issued, keyPair: { PublicKey: keys.publicKeyPem, PrivateKey: keys.privateKeyPem } };
}

/** The certificate keeps the CSR's subject, so a device can carry its thing name as the common name (docs/scale-out.md). */
async function createCertificateFromCsr(ctx: RequestContext, input: Input) {
  let request: SigningRequest;
  try {
    request = readSigningRequest(input.certificateSigningRequest);
  } catch (e) {
    throw invalid(`certificateSigningRequest: ${(e as Error).message}`, [{ name: 'certificateSigningRequest', message: (e as Error).message }]);
  }
  return issueDeviceCertificate(ctx, { request }, !!input.setAsActive);
}

async function describeCertificate(ctx: RequestContext, input: Input) {
  const c = await certificateOrThrow(ctx.store, ctx.scope, normalizeId(input.certificateId));
  return {
    certificateDescription: {
      certificateArn: certificateArn(ctx.scope, c.id),
      certificateId: c.id,
      caCertificateId: c.caCertificateId,
      status: c.status,
      certificatePem: c.pem,
      ownedBy: ctx.scope.accountId,
      creationDate: new Date(c.createdAt),
      lastModifiedDate: new Date(c.lastModifiedAt),
      customerVersion: c.customerVersion,
      generationId: c.generationId,
      validity: validity(c),
      certificateMode: 'DEFAULT',
    },
  };
}

async function updateCertificate(ctx: RequestContext, input: Input) {
  const newStatus = input.newStatus as string;
  if (!SETTABLE_STATUSES.includes(newStatus as CertificateStatus)) {
    throw invalid(`newStatus ${newStatus} cannot be set: meadow supports ${SETTABLE_STATUSES.join(', ')} (no certificate transfer or registration).`, [
      { name: 'newStatus', message: `Value '${newStatus}' at 'newStatus' failed to satisfy constraint: Member must be one of ${SETTABLE_STATUSES.join(', ')}` },
    ]);
  }
  await ctx.store.transaction(async (tx) => {
    const c = await certificateOrThrow(tx, ctx.scope, normalizeId(input.certificateId), { lock: true });
    if (c.status === newStatus) return;
    // Revocation is final: a revoked certificate can be deleted, never used again.
    if (c.status === 'REVOKED') throw certificateStateError(`Certificate ${c.id} is REVOKED; a revoked certificate cannot become ${newStatus}.`);
    await tx.updateCertificate(ctx.scope, {
      ...c,
      status: newStatus as CertificateStatus,
      customerVersion: c.customerVersion + 1,
      generationId: randomUUID(),
      lastModifiedAt: ctx.clock.now(),
    });
  });
  return {};
}

async function deleteCertificate(ctx: RequestContext, input: Input) {
  // forceDelete overrides attached policies in AWS IoT; meadow has no IoT policies, so it changes nothing here.
  await ctx.store.transaction(async (tx) => {
    const c = await certificateOrThrow(tx, ctx.scope, normalizeId(input.certificateId), { lock: true });
    if (c.status === 'ACTIVE') throw certificateStateError(`Certificate ${c.id} is ACTIVE; deactivate or revoke it (UpdateCertificate) before deleting it.`);
    const arn = certificateArn(ctx.scope, c.id);
    const attached = await tx.listThingsOfPrincipal(ctx.scope, arn, { limit: 1 });
    if (attached.items.length > 0) {
      throw new MeadowError('Conflict', `Certificate ${c.id} is attached to thing ${attached.items[0].thingName}; detach it from every thing (DetachThingPrincipal) before deleting it.`, {
        errorShape: 'DeleteConflictException',
      });
    }
    await tx.deleteCertificate(ctx.scope, c.id);
  });
  return {};
}

/** ListCertificates pages with `marker`, whose model pattern is standard base64: the nextToken's bytes in that alphabet. */
const toMarker = (token: string | undefined) => token && Buffer.from(token, 'base64url').toString('base64');
const fromMarker = (marker: string | undefined) => marker && Buffer.from(marker, 'base64').toString('base64url');

async function listCertificates(ctx: RequestContext, input: Input) {
  const order = input.ascendingOrder ? 'ascending' : 'descending';
  const page = await ctx.store.listCertificates(ctx.scope, order, {
    after: decodeNextToken(ctx.operation, fromMarker(input.marker)),
    limit: input.pageSize ?? DEFAULT_CERTIFICATE_PAGE,
  });
  return {
    certificates: page.items.map((c) => ({
      certificateArn: certificateArn(ctx.scope, c.id),
      certificateId: c.id,
      status: c.status,
      certificateMode: 'DEFAULT',
      creationDate: new Date(c.createdAt),
    })),
    nextMarker: toMarker(encodeNextToken(ctx.operation, page.next)),
  };
}

/** Only meadow's own CA is known: device certificates name it as their caCertificateId, and devices need its PEM. */
async function describeCACertificate(ctx: RequestContext, input: Input) {
  const ca = await ctx.ca();
  const id = normalizeId(input.certificateId);
  if (id !== ca.id) throw notFound('caCertificate', id, `CA certificate ${id} does not exist.`);
  return {
    certificateDescription: {
      certificateArn: caCertificateArn(ctx.scope, ca.id),
      certificateId: ca.id,
      status: 'ACTIVE',
      certificatePem: ca.certificatePem,
      ownedBy: ctx.scope.accountId,
      creationDate: new Date(ca.createdAt),
      lastModifiedDate: new Date(ca.createdAt),
      customerVersion: 1,
      autoRegistrationStatus: 'DISABLE',
      validity: validity(ca),
      certificateMode: 'DEFAULT',
    },
  };
}

async function attachThingPrincipal(ctx: RequestContext, input: Input) {
  const type: ThingPrincipalType = input.thingPrincipalType ?? 'NON_EXCLUSIVE_THING';
  await ctx.store.transaction(async (tx) => {
    await thingOrThrow(tx, ctx.scope, input.thingName);
    // The certificate's row lock serializes attachments of one principal, so two exclusive attachments cannot both pass.
    const c = await certificateOfPrincipal(tx, ctx.scope, input.principal, { lock: true });
    const principal = certificateArn(ctx.scope, c.id);
    // An exclusive attachment is the principal's only one, so two rows tell whether another thing holds it.
    const others = (await tx.listThingsOfPrincipal(ctx.scope, principal, { limit: 2 })).items.filter((a) => a.thingName !== input.thingName);
    const exclusiveOther = others.find((a) => a.type === 'EXCLUSIVE_THING');
    if (exclusiveOther) {
      throw invalid(`Principal ${principal} is attached exclusively to thing ${exclusiveOther.thingName}; detach it there first.`);
    }
    if (type === 'EXCLUSIVE_THING' && others.length > 0) {
      throw invalid(`Principal ${principal} cannot be attached exclusively to ${input.thingName}: it is attached to thing ${others[0].thingName} too.`);
    }
    await tx.attachThingPrincipal(ctx.scope, { thingName: input.thingName, principal, type, attachedAt: ctx.clock.now() });
  });
  return {};
}

async function detachThingPrincipal(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    await thingOrThrow(tx, ctx.scope, input.thingName);
    const c = await certificateOfPrincipal(tx, ctx.scope, input.principal, { lock: true });
    // Detaching what is not attached succeeds: the requested state holds.
    await tx.detachThingPrincipal(ctx.scope, input.thingName, certificateArn(ctx.scope, c.id));
  });
  return {};
}

async function listThingPrincipals(ctx: RequestContext, input: Input) {
  await thingOrThrow(ctx.store, ctx.scope, input.thingName);
  const page = await ctx.store.listPrincipalsOfThing(ctx.scope, input.thingName, {
    after: decodeNextToken(ctx.operation, input.nextToken),
    limit: input.maxResults ?? DEFAULT_REGISTRY_PAGE,
  });
  return { principals: page.items.map((a) => a.principal), nextToken: encodeNextToken(ctx.operation, page.next) };
}

async function listPrincipalThings(ctx: RequestContext, input: Input) {
  const c = await certificateOfPrincipal(ctx.store, ctx.scope, input.principal);
  const page = await ctx.store.listThingsOfPrincipal(ctx.scope, certificateArn(ctx.scope, c.id), {
    after: decodeNextToken(ctx.operation, input.nextToken),
    limit: input.maxResults ?? DEFAULT_REGISTRY_PAGE,
  });
  return { things: page.items.map((a) => a.thingName), nextToken: encodeNextToken(ctx.operation, page.next) };
}

export const certificateHandlers: HandlerTable = {
  CreateKeysAndCertificate: createKeysAndCertificate,
  CreateCertificateFromCsr: createCertificateFromCsr,
  DescribeCertificate: describeCertificate,
  UpdateCertificate: updateCertificate,
  DeleteCertificate: deleteCertificate,
  ListCertificates: listCertificates,
  DescribeCACertificate: describeCACertificate,
  AttachThingPrincipal: attachThingPrincipal,
  DetachThingPrincipal: detachThingPrincipal,
  ListThingPrincipals: listThingPrincipals,
  ListPrincipalThings: listPrincipalThings,
};
