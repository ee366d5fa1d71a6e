// Tags on IoT resources: a list of {Key, Value} on the resource's ARN, stored like Greengrass tags.
import { inScope, parseIotArn } from '../../core/arn.js';
import { invalid, notFound } from '../../core/errors.js';
import type { Store } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';

const MAX_TAGS = 50;

export const iotTagsToMap = (tags: { Key: string; Value?: string }[]) => Object.fromEntries(tags.map((t) => [t.Key, t.Value ?? '']));

async function assertTaggable(store: Store, ctx: RequestContext, arn: string) {
  const ref = parseIotArn(arn);
  const exists =
    ref && inScope(ref, ctx.scope) && (ref.kind === 'thing' ? await store.getThing(ctx.scope, ref.name) : await store.getThingGroup(ctx.scope, ref.name));
  if (!exists) throw notFound('resource', arn, `Resource ${arn} does not exist.`);
}

async function tagResource(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    await assertTaggable(tx, ctx, input.resourceArn);
    const next = iotTagsToMap(input.tags);
    const merged = { ...(await tx.getTags(ctx.scope, input.resourceArn)), ...next };
    if (Object.keys(merged).length > MAX_TAGS) throw invalid(`A resource can carry at most ${MAX_TAGS} tags.`);
    await tx.putTags(ctx.scope, input.resourceArn, next);
  });
  return {};
}

async function untagResource(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    await assertTaggable(tx, ctx, input.resourceArn);
    await tx.removeTags(ctx.scope, input.resourceArn, input.tagKeys);
  });
  return {};
}

async function listTagsForResource(ctx: RequestContext, input: Input) {
  await assertTaggable(ctx.store, ctx, input.resourceArn);
  const tags = await ctx.store.getTags(ctx.scope, input.resourceArn);
  return { tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
}

export const iotTagHandlers: HandlerTable = {
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
};
