// Thing-group membership. Every change lands in the store's ordered membership log, which is what
// will make group deployments continuous: a rollout engine consumes it to reach things that join later.
import { inScope, parseIotArn, thingGroupArn } from '../../core/arn.js';
import { MeadowError, invalid } from '../../core/errors.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';
import { groupOrThrow } from './thing-groups.js';
import { DEFAULT_REGISTRY_PAGE, thingOrThrow } from './things.js';

/** AWS IoT: a thing can belong to at most 10 thing groups. */
export const MAX_GROUPS_PER_THING = 10;

/** A request names its thing and group by name or by ARN; exactly one of each is needed. */
function resolveNames(ctx: RequestContext, input: Input): { thingName: string; groupName: string } {
  const pick = (kind: 'thing' | 'thinggroup', name: string | undefined, arn: string | undefined, label: string) => {
    if (name !== undefined && arn !== undefined) throw invalid(`Specify ${label}Name or ${label}Arn, not both.`);
    if (name !== undefined) return name;
    if (arn === undefined) throw invalid(`Specify ${label}Name or ${label}Arn.`);
    const ref = parseIotArn(arn);
    if (!ref || ref.kind !== kind || !inScope(ref, ctx.scope)) throw invalid(`${label}Arn '${arn}' is not a ${kind} ARN of this account and region.`);
    return ref.name;
  };
  return {
    thingName: pick('thing', input.thingName, input.thingArn, 'thing'),
    groupName: pick('thinggroup', input.thingGroupName, input.thingGroupArn, 'thingGroup'),
  };
}

async function addThingToThingGroup(ctx: RequestContext, input: Input) {
  const { thingName, groupName } = resolveNames(ctx, input);
  await ctx.store.transaction(async (tx) => {
    await thingOrThrow(tx, ctx.scope, thingName);
    await groupOrThrow(tx, ctx.scope, groupName);
    const current = await tx.listGroupNamesOfThing(ctx.scope, thingName);
    if (current.includes(groupName)) return;
    if (current.length >= MAX_GROUPS_PER_THING) {
      throw new MeadowError(
        'LimitExceeded',
        `Thing ${thingName} already belongs to ${current.length} thing groups, the most a thing can belong to; remove it from one first.`,
      );
    }
    await tx.addThingToGroup(ctx.scope, thingName, groupName, ctx.clock.now());
  });
  return {};
}

async function removeThingFromThingGroup(ctx: RequestContext, input: Input) {
  const { thingName, groupName } = resolveNames(ctx, input);
  await ctx.store.transaction(async (tx) => {
    await thingOrThrow(tx, ctx.scope, thingName);
    await groupOrThrow(tx, ctx.scope, groupName);
    await tx.removeThingFromGroup(ctx.scope, thingName, groupName, ctx.clock.now());
  });
  return {};
}

async function listThingsInThingGroup(ctx: RequestContext, input: Input) {
  await groupOrThrow(ctx.store, ctx.scope, input.thingGroupName);
  const groups = input.recursive ? await ctx.store.groupAndDescendantNames(ctx.scope, input.thingGroupName) : [input.thingGroupName];
  const page = await ctx.store.listThingNamesInGroups(ctx.scope, groups, {
    after: decodeNextToken(ctx.operation, input.nextToken),
    limit: input.maxResults ?? DEFAULT_REGISTRY_PAGE,
  });
  return { things: page.items, nextToken: encodeNextToken(ctx.operation, page.next) };
}

async function listThingGroupsForThing(ctx: RequestContext, input: Input) {
  await thingOrThrow(ctx.store, ctx.scope, input.thingName);
  const after = decodeNextToken(ctx.operation, input.nextToken);
  const limit = input.maxResults ?? DEFAULT_REGISTRY_PAGE;
  // Sorted here, not by the database: the cursor test below compares in JavaScript order, which a PostgreSQL
  // collation other than C does not follow (it would skip or repeat names across pages).
  const names = (await ctx.store.listGroupNamesOfThing(ctx.scope, input.thingName)).sort().filter((n) => after === undefined || n > after);
  const pageNames = names.slice(0, limit);
  return {
    thingGroups: pageNames.map((n) => ({ groupName: n, groupArn: thingGroupArn(ctx.scope, n) })),
    nextToken: encodeNextToken(ctx.operation, names.length > limit ? pageNames[pageNames.length - 1] : undefined),
  };
}

export const membershipHandlers: HandlerTable = {
  AddThingToThingGroup: addThingToThingGroup,
  RemoveThingFromThingGroup: removeThingFromThingGroup,
  ListThingsInThingGroup: listThingsInThingGroup,
  ListThingGroupsForThing: listThingGroupsForThing,
};
