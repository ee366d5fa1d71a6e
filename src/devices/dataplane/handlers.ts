// The two Greengrass data-plane operations that are not in the public model (model/patches.json adds them). The
// data plane's other operations are the control plane's own handlers (ResolveComponentCandidates,
// GetComponentVersionArtifact) and the IoT jobs data plane's; the thing named here is already known to be the
// caller's own (authorizeDevice).
import { parseIotArn, thingGroupArn } from '../../core/arn.js';
import { MeadowError, notFound } from '../../core/errors.js';
import { integrityCheckOf } from '../../core/device-document/index.js';
import { decodeNextToken, encodeNextToken } from '../../core/pagination.js';
import { thingOrThrow, DEFAULT_REGISTRY_PAGE } from '../../api/iot/things.js';
import type { HandlerTable, Input, RequestContext } from '../../api/context.js';
import { fullConfigurationOf, type ConfigurationUrls } from './deployment-configuration.js';

/** The thing's direct groups, each with its ancestors root first: what the nucleus reads to know its groups. */
async function listThingGroupsForCoreDevice(ctx: RequestContext, input: Input) {
  await thingOrThrow(ctx.store, ctx.scope, input.coreDeviceThingName);
  const after = decodeNextToken(ctx.operation, input.nextToken);
  const limit = input.maxResults ?? DEFAULT_REGISTRY_PAGE;
  // Sorted in JavaScript so the cursor comparison agrees with the order whatever the database collation.
  const names = (await ctx.store.listGroupNamesOfThing(ctx.scope, input.coreDeviceThingName)).sort().filter((n) => after === undefined || n > after);
  const pageNames = names.slice(0, limit);
  const thingGroups = [];
  for (const name of pageNames) {
    const ancestors = await ctx.store.ancestorsOf(ctx.scope, name);
    const children = await ctx.store.listThingGroups(ctx.scope, { parentName: name }, { limit: 1 });
    thingGroups.push({
      thingGroupName: name,
      hasChildGroups: children.items.length > 0,
      rootToParentThingGroups: ancestors.map((g) => ({ thingGroupName: g.name, thingGroupArn: thingGroupArn(ctx.scope, g.name) })),
    });
  }
  return { thingGroups, nextToken: encodeNextToken(ctx.operation, names.length > limit ? pageNames[pageNames.length - 1] : undefined) };
}

function getDeploymentConfiguration(urls: ConfigurationUrls) {
  return async (ctx: RequestContext, input: Input) => {
    const thing = input.coreDeviceThingName as string;
    const d = await ctx.store.getDeployment(ctx.scope, input.deploymentId);
    if (!d) throw notFound('Deployment', input.deploymentId, `Deployment ${input.deploymentId} does not exist.`);
    // Only a device the deployment went to may read it: the thing it targets, or a thing with an execution of its job.
    const target = parseIotArn(d.targetArn);
    const targeted =
      target?.kind === 'thing'
        ? target.name === thing
        : d.iotJobId !== undefined && (await ctx.store.getJobExecution(ctx.scope, d.iotJobId, thing)) !== undefined;
    if (!targeted) {
      throw new MeadowError('Invalid', `Deployment ${d.deploymentId} was not sent to core device ${thing}.`, { errorShape: 'AccessDeniedException' });
    }
    const json = await fullConfigurationOf(ctx.store, ctx.scope, d);
    if (json === undefined) throw notFound('Deployment', d.deploymentId, `Deployment ${d.deploymentId} has no configuration document.`);
    return { preSignedUrl: urls.urlFor(ctx.baseUrl, d.deploymentId), integrityCheck: integrityCheckOf(json) };
  };
}

export function dataPlaneGreengrassHandlers(urls: ConfigurationUrls): HandlerTable {
  return {
    ListThingGroupsForCoreDevice: listThingGroupsForCoreDevice,
    GetDeploymentConfiguration: getDeploymentConfiguration(urls),
  };
}
