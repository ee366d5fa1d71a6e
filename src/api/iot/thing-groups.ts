// IoT static thing groups and their hierarchy.
import { randomUUID } from 'node:crypto';
import { thingGroupArn } from '../../core/arn.js';
import { MeadowError, invalid, notFound } from '../../core/errors.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import type { Scope, Store, ThingGroup } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';
import { applyAttributePayload, sameAttributes } from './attributes.js';
import { checkVersion, DEFAULT_REGISTRY_PAGE } from './things.js';
import { iotTagsToMap } from './tags.js';

/** AWS IoT limits a thing group hierarchy to 7 levels. */
export const MAX_GROUP_DEPTH = 7;

export async function groupOrThrow(store: Store, scope: Scope, name: string): Promise<ThingGroup> {
  const g = await store.getThingGroup(scope, name);
  if (!g) throw notFound('thingGroup', name, `Thing group ${name} does not exist.`);
  return g;
}

async function createThingGroup(ctx: RequestContext, input: Input) {
  return ctx.store.transaction(async (tx) => {
    const { scope } = ctx;
    const name: string = input.thingGroupName;
    const description: string | undefined = input.thingGroupProperties?.thingGroupDescription;
    const attributes = applyAttributePayload({}, { attributes: input.thingGroupProperties?.attributePayload?.attributes });
    const arn = thingGroupArn(scope, name);
    const existing = await tx.getThingGroup(scope, name);
    if (existing) {
      // Idempotent for an identical group, as CreateThing is.
      const same = existing.parentName === input.parentGroupName && existing.description === description && sameAttributes(existing.attributes, attributes);
      if (!same) {
        throw new MeadowError('AlreadyExists', `Thing group ${name} already exists with different properties.`, {
          resourceId: existing.id,
          resourceArn: arn,
        });
      }
      return { thingGroupName: name, thingGroupArn: arn, thingGroupId: existing.id };
    }
    if (input.parentGroupName !== undefined) {
      const parent = await tx.getThingGroup(scope, input.parentGroupName);
      if (!parent) throw invalid(`Parent thing group ${input.parentGroupName} does not exist.`);
      const depth = (await tx.ancestorsOf(scope, parent.name)).length + 2;
      if (depth > MAX_GROUP_DEPTH) {
        throw invalid(`Thing group ${name} would be at depth ${depth} under ${parent.name}; a thing group hierarchy can be at most ${MAX_GROUP_DEPTH} levels deep.`);
      }
    }
    const group: ThingGroup = {
      name,
      id: randomUUID(),
      parentName: input.parentGroupName,
      description,
      attributes,
      version: 1,
      createdAt: ctx.clock.now(),
    };
    await tx.putThingGroup(scope, group);
    if (input.tags) await tx.putTags(scope, arn, iotTagsToMap(input.tags));
    return { thingGroupName: name, thingGroupArn: arn, thingGroupId: group.id };
  });
}

async function describeThingGroup(ctx: RequestContext, input: Input) {
  const g = await groupOrThrow(ctx.store, ctx.scope, input.thingGroupName);
  const ancestors = await ctx.store.ancestorsOf(ctx.scope, g.name);
  return {
    thingGroupName: g.name,
    thingGroupId: g.id,
    thingGroupArn: thingGroupArn(ctx.scope, g.name),
    version: g.version,
    thingGroupProperties: { thingGroupDescription: g.description, attributePayload: { attributes: g.attributes } },
    thingGroupMetadata: {
      parentGroupName: g.parentName,
      rootToParentThingGroups: ancestors.map((a) => ({ groupName: a.name, groupArn: thingGroupArn(ctx.scope, a.name) })),
      creationDate: new Date(g.createdAt),
    },
  };
}

async function updateThingGroup(ctx: RequestContext, input: Input) {
  return ctx.store.transaction(async (tx) => {
    const g = await groupOrThrow(tx, ctx.scope, input.thingGroupName);
    checkVersion('thing group', g.name, g.version, input.expectedVersion);
    const props = input.thingGroupProperties ?? {};
    const version = g.version + 1;
    await tx.putThingGroup(ctx.scope, {
      ...g,
      description: props.thingGroupDescription !== undefined ? props.thingGroupDescription : g.description,
      attributes: applyAttributePayload(g.attributes, props.attributePayload),
      version,
    });
    return { version };
  });
}

async function deleteThingGroup(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    const g = await tx.getThingGroup(ctx.scope, input.thingGroupName);
    if (!g) return; // like DeleteThing, deleting what is not there succeeds
    checkVersion('thing group', g.name, g.version, input.expectedVersion);
    const children = await tx.listChildGroupNames(ctx.scope, g.name);
    if (children.length > 0) {
      throw invalid(`Thing group ${g.name} has child groups (${children.slice(0, 5).join(', ')}); delete them first.`);
    }
    const now = ctx.clock.now();
    for (;;) {
      const members = await tx.listThingNamesInGroups(ctx.scope, [g.name], { limit: 500 });
      for (const thing of members.items) await tx.removeThingFromGroup(ctx.scope, thing, g.name, now);
      if (!members.next) break;
    }
    await tx.removeTags(ctx.scope, thingGroupArn(ctx.scope, g.name), []);
    await tx.deleteThingGroup(ctx.scope, g.name);
  });
  return {};
}

async function listThingGroups(ctx: RequestContext, input: Input) {
  const limit = input.maxResults ?? DEFAULT_REGISTRY_PAGE;
  const after = decodeNextToken(ctx.operation, input.nextToken);
  let items: ThingGroup[];
  let next: string | undefined;
  if (input.parentGroup !== undefined && input.recursive === true) {
    // All descendants of parentGroup: gathered by the hierarchy query, then paged by name in JavaScript order
    // (sorted here, since the database's collation need not agree with the `n > after` cursor test).
    await groupOrThrow(ctx.store, ctx.scope, input.parentGroup);
    const names = (await ctx.store.groupAndDescendantNames(ctx.scope, input.parentGroup))
      .sort()
      .filter((n) => n !== input.parentGroup)
      .filter((n) => !input.namePrefixFilter || n.startsWith(input.namePrefixFilter))
      .filter((n) => after === undefined || n > after);
    const pageNames = names.slice(0, limit);
    items = pageNames.map((name) => ({ name }) as ThingGroup);
    next = names.length > limit ? pageNames[pageNames.length - 1] : undefined;
  } else {
    if (input.parentGroup !== undefined) await groupOrThrow(ctx.store, ctx.scope, input.parentGroup);
    // Without parentGroup: every group, or only root groups when recursive is false.
    const parentName = input.parentGroup !== undefined ? input.parentGroup : input.recursive === false ? null : undefined;
    const page = await ctx.store.listThingGroups(ctx.scope, { parentName, namePrefix: input.namePrefixFilter }, { after, limit });
    items = page.items;
    next = page.next;
  }
  return {
    thingGroups: items.map((g) => ({ groupName: g.name, groupArn: thingGroupArn(ctx.scope, g.name) })),
    nextToken: encodeNextToken(ctx.operation, next),
  };
}

export const thingGroupHandlers: HandlerTable = {
  CreateThingGroup: createThingGroup,
  DescribeThingGroup: describeThingGroup,
  UpdateThingGroup: updateThingGroup,
  DeleteThingGroup: deleteThingGroup,
  ListThingGroups: listThingGroups,
};
