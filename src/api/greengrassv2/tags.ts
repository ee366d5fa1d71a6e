// Tags on Greengrass resources: a map on the resource's ARN (unlike IoT's list of Key/Value pairs).
import { inScope, parseComponentArn, parseGreengrassArn } from '../../core/arn.js';
import { invalidFields, notFound } from '../../core/errors.js';
import type { Store } from '../../store/store.js';
import type { HandlerTable, Input, RequestContext } from '../context.js';

const MAX_TAGS = 200;

/**
 * Only resources that exist can carry tags: deployments and the caller's own components (a component ARN, or
 * one version's ARN), and core devices that have reported their status.
 * Writers pass `lock`: they hold the deployment's target lock, as DeleteDeployment does, so that tags cannot be
 * written for a deployment that a concurrent delete has just removed (they would outlive it).
 */
async function assertTaggable(store: Store, ctx: RequestContext, arn: string, { lock = false } = {}): Promise<void> {
  const component = parseComponentArn(arn);
  if (component) {
    const own = component.region === ctx.scope.region && component.accountId === ctx.scope.accountId;
    const exists =
      own &&
      (component.version !== undefined
        ? await store.getComponentVersion(ctx.scope, component.name, component.version)
        : (await store.listVersionsOfComponent(ctx.scope, component.name)).length > 0);
    if (!exists) throw notFound(component.version ? 'componentVersion' : 'component', arn, `Resource ${arn} does not exist.`);
    return;
  }
  const ref = parseGreengrassArn(arn);
  if (ref?.kind === 'coreDevices') {
    if (!(inScope(ref, ctx.scope) && (await store.getCoreDevice(ctx.scope, ref.id)))) throw notFound('coreDevice', arn, `Resource ${arn} does not exist.`);
    return;
  }
  const find = async () => (ref && inScope(ref, ctx.scope) && ref.kind === 'deployments' ? store.getDeployment(ctx.scope, ref.id) : undefined);
  let found = await find();
  if (found && lock) {
    await store.lockTarget(ctx.scope, found.targetArn);
    found = await find();
  }
  if (!found) throw notFound(ref?.kind === 'deployments' ? 'deployment' : (ref?.kind ?? 'resource'), arn, `Resource ${arn} does not exist.`);
}

async function tagResource(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    await assertTaggable(tx, ctx, input.resourceArn, { lock: true });
    const merged = { ...(await tx.getTags(ctx.scope, input.resourceArn)), ...input.tags };
    if (Object.keys(merged).length > MAX_TAGS) {
      throw invalidFields([{ name: 'tags', message: `Value at 'tags' failed to satisfy constraint: a resource can carry at most ${MAX_TAGS} tags` }]);
    }
    await tx.putTags(ctx.scope, input.resourceArn, input.tags);
  });
  return {};
}

async function untagResource(ctx: RequestContext, input: Input) {
  await ctx.store.transaction(async (tx) => {
    await assertTaggable(tx, ctx, input.resourceArn, { lock: true });
    await tx.removeTags(ctx.scope, input.resourceArn, input.tagKeys);
  });
  return {};
}

async function listTagsForResource(ctx: RequestContext, input: Input) {
  await assertTaggable(ctx.store, ctx, input.resourceArn);
  return { tags: await ctx.store.getTags(ctx.scope, input.resourceArn) };
}

export const tagHandlers: HandlerTable = {
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
};
