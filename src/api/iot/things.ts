// IoT things: the registry entries a deployment can target.
import { randomUUID } from 'node:crypto';
import { thingArn } from '../../core/arn.js';
import { MeadowError, invalid, notFound } from '../../core/errors.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import type { Scope, Store, Thing } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';
import { applyAttributePayload, sameAttributes } from './attributes.js';

export const DEFAULT_REGISTRY_PAGE = 50;

export async function thingOrThrow(store: Store, scope: Scope, name: string): Promise<Thing> {
  const t = await store.getThing(scope, name);
  if (!t) throw notFound('thing', name, `Thing ${name} does not exist.`);
  return t;
}

// meadow has no thing types or billing groups, so a reference to one names something that does not exist.
function refuseUnsupportedReferences(input: Input) {
  if (input.thingTypeName !== undefined) throw notFound('thingType', input.thingTypeName, `Thing type ${input.thingTypeName} does not exist: meadow does not support thing types.`);
  if (input.billingGroupName !== undefined) throw notFound('billingGroup', input.billingGroupName, `Billing group ${input.billingGroupName} does not exist: meadow does not support billing groups.`);
}

export function checkVersion(kind: string, name: string, current: number, expected: number | undefined) {
  if (expected !== undefined && expected !== current) {
    throw new MeadowError('VersionConflict', `The expected version ${expected} of ${kind} ${name} does not match its current version ${current}.`);
  }
}

async function createThing(ctx: RequestContext, input: Input) {
  refuseUnsupportedReferences(input);
  return ctx.store.transaction(async (tx) => {
    const attributes = applyAttributePayload({}, { attributes: input.attributePayload?.attributes });
    const existing = await tx.getThing(ctx.scope, input.thingName);
    const arn = thingArn(ctx.scope, input.thingName);
    if (existing) {
      // CreateThing is idempotent for an identical thing.
      if (!sameAttributes(existing.attributes, attributes)) {
        throw new MeadowError('AlreadyExists', `Thing ${input.thingName} already exists with different attributes.`, {
          resourceId: existing.id,
          resourceArn: arn,
        });
      }
      return { thingName: existing.name, thingArn: arn, thingId: existing.id };
    }
    const thing: Thing = { name: input.thingName, id: randomUUID(), attributes, version: 1, createdAt: ctx.clock.now() };
    await tx.putThing(ctx.scope, thing);
    return { thingName: thing.name, thingArn: arn, thingId: thing.id };
  });
}

async function describeThing(ctx: RequestContext, input: Input) {
  const t = await thingOrThrow(ctx.store, ctx.scope, input.thingName);
  return {
    defaultClientId: t.name,
    thingName: t.name,
    thingId: t.id,
    thingArn: thingArn(ctx.scope, t.name),
    thingTypeName: t.thingTypeName,
    attributes: t.attributes,
    version: t.version,
  };
}

async function updateThing(ctx: RequestContext, input: Input) {
  if (input.thingTypeName !== undefined && input.removeThingType) {
    throw invalid('Specify either thingTypeName or removeThingType, not both.');
  }
  refuseUnsupportedReferences(input);
  await ctx.store.transaction(async (tx) => {
    const t = await thingOrThrow(tx, ctx.scope, input.thingName);
    checkVersion('thing', t.name, t.version, input.expectedVersion);
    await tx.putThing(ctx.scope, {
      ...t,
      thingTypeName: input.removeThingType ? undefined : t.thingTypeName,
      attributes: applyAttributePayload(t.attributes, input.attributePayload),
      version: t.version + 1,
    });
  });
  return {};
}

async function deleteThing(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    const t = await tx.getThing(ctx.scope, input.thingName);
    if (!t) return; // deleting a thing that does not exist succeeds, as in AWS IoT
    checkVersion('thing', t.name, t.version, input.expectedVersion);
    // As AWS IoT: a thing keeps its identity until its certificates are detached.
    if ((await tx.listPrincipalsOfThing(ctx.scope, t.name, { limit: 1 })).items.length > 0) {
      throw invalid(`Cannot delete thing ${t.name}: it still has principals attached; detach them (DetachThingPrincipal) first.`);
    }
    const now = ctx.clock.now();
    for (const group of await tx.listGroupNamesOfThing(ctx.scope, t.name)) {
      await tx.removeThingFromGroup(ctx.scope, t.name, group, now);
    }
    await tx.removeTags(ctx.scope, thingArn(ctx.scope, t.name), []);
    await tx.deleteThing(ctx.scope, t.name);
  });
  return {};
}

async function listThings(ctx: RequestContext, input: Input) {
  if (input.attributeValue !== undefined && input.attributeName === undefined) {
    throw invalid('attributeValue requires attributeName.');
  }
  const page = await ctx.store.listThings(
    ctx.scope,
    { thingTypeName: input.thingTypeName, attributeName: input.attributeName, attributeValue: input.attributeValue, usePrefixAttributeValue: input.usePrefixAttributeValue },
    { after: decodeNextToken(ctx.operation, input.nextToken), limit: input.maxResults ?? DEFAULT_REGISTRY_PAGE },
  );
  return {
    things: page.items.map((t) => ({
      thingName: t.name,
      thingTypeName: t.thingTypeName,
      thingArn: thingArn(ctx.scope, t.name),
      attributes: t.attributes,
      version: t.version,
    })),
    nextToken: encodeNextToken(ctx.operation, page.next),
  };
}

export const thingHandlers: HandlerTable = {
  CreateThing: createThing,
  DescribeThing: describeThing,
  UpdateThing: updateThing,
  DeleteThing: deleteThing,
  ListThings: listThings,
};
