// CreateDeployment refuses what no device could deploy: component versions that do not exist or are not
// DEPLOYABLE, AWS public components meadow does not ship, and hard dependencies that cannot be resolved together.
import { componentVersionArn, parseIotArn } from '../../core/arn.js';
import { invalidFields, notFound } from '../../core/errors.js';
import { isAwsComponentName, PUBLIC_COMPONENTS } from '../../core/public-components.js';
import { ResolutionError, resolveDeployment } from '../../core/resolution/index.js';
import type { Scope, Store } from '../../store/store.js';
import { loadCatalog, versionsOf, type CatalogVersion } from './catalog.js';

type ComponentSpecs = Record<string, { componentVersion: string }>;

/** The name the device keys a target's state by: `thinggroup/NAME` or `thing/NAME` (semantics §1.1). */
export function targetGroupName(targetArn: string): string {
  const ref = parseIotArn(targetArn)!;
  return `${ref.kind}/${ref.name}`;
}

/** A violation in the AWS validator's wording, which names the member in the message too. */
const violation = (name: string, value: string, rule: string) => ({
  name,
  message: `Value '${value}' at '${name}' failed to satisfy constraint: ${rule}`,
});

export async function assertDeployable(store: Store, scope: Scope, targetArn: string, components: ComponentSpecs): Promise<void> {
  const roots: Record<string, string> = {};
  const read = new Map<string, CatalogVersion[]>();
  for (const [name, { componentVersion }] of Object.entries(components)) {
    const versions = await versionsOf(store, scope, name);
    read.set(name, versions);
    const found = versions.find((v) => v.version === componentVersion);
    if (!found) {
      if (versions.length === 0 && isAwsComponentName(name)) {
        throw invalidFields([
          violation(
            `components[${name}]`,
            name,
            `${name} is an AWS-provided public component that meadow does not ship (meadow ships ${[...PUBLIC_COMPONENTS.keys()].join(', ')}); ` +
              'publish your own component under another name instead',
          ),
        ]);
      }
      throw notFound(
        'componentVersion',
        componentVersionArn(scope.region, scope.accountId, name, componentVersion),
        `Component ${name} version ${componentVersion} does not exist` +
          (versions.length > 0 ? ` (versions available: ${versions.slice(0, 10).map((v) => v.version).join(', ')}).` : '.'),
      );
    }
    if (found.state !== 'DEPLOYABLE') {
      // Say why the version is not deployable: the per-artifact errors are what the caller has to fix.
      const why = [found.message, ...Object.entries(found.errors ?? {}).map(([uri, error]) => `${uri}: ${error}`)].filter((m) => m && m !== 'NONE');
      throw invalidFields([
        violation(
          `components[${name}].componentVersion`,
          componentVersion,
          `Component ${name} version ${componentVersion} is ${found.state}, not DEPLOYABLE, and cannot be deployed` + (why.length > 0 ? ` (${why.join(' ')})` : ''),
        ),
      ]);
    }
    roots[name] = componentVersion;
  }
  // Platforms are not known until a device resolves, so only the dependency graph is checked here.
  const catalog = await loadCatalog(store, scope, Object.keys(roots), () => true, (type) => type === 'HARD', read);
  try {
    resolveDeployment({ [targetGroupName(targetArn)]: roots }, catalog);
  } catch (e) {
    if (!(e instanceof ResolutionError)) throw e;
    throw invalidFields([{ name: 'components', message: `The components' hard dependencies cannot be resolved together: ${e.message}` }]);
  }
}
