// The AWS-provided public components meadow ships. Only the nucleus: it stands for the meadow agent on a device,
// so deployment specs that pin `aws.greengrass.Nucleus` resolve unchanged. Its recipe carries the nucleus
// configuration defaults that matter to a deployment (semantics Appendix A).
import { recipeToJson, toRecipe, type Recipe } from './recipe/index.js';

export const NUCLEUS = 'aws.greengrass.Nucleus';

/** Nucleus versions whose device protocol the meadow agent follows. */
export const NUCLEUS_VERSIONS = [
  '2.12.0', '2.12.1', '2.12.2', '2.12.3', '2.12.4', '2.12.5', '2.12.6',
  '2.13.0',
  '2.14.0', '2.14.1', '2.14.2', '2.14.3',
  '2.15.0', '2.15.1',
  '2.16.0', '2.16.1',
  '2.17.0',
  '2.18.0', '2.18.1', '2.18.2',
];

/** When the public components appear to have been published: a fixed instant, so listings are stable. */
export const PUBLIC_COMPONENTS_PUBLISHED_AT = Date.UTC(2026, 0, 1);

const NUCLEUS_DEFAULTS = {
  awsRegion: '',
  iotRoleAlias: '',
  mqtt: { port: 8883, keepAliveTimeoutMs: 60000, pingTimeoutMs: 30000, operationTimeoutMs: 30000, maxInFlightPublishes: 5 },
  deploymentPollingFrequencySeconds: 15,
  componentStoreMaxSizeBytes: 10000000000,
  runWithDefault: { posixShell: 'sh' },
  fleetStatus: { periodicStatusPublishIntervalSeconds: 86400 },
  logging: { level: 'INFO', format: 'TEXT', outputType: 'FILE', fileSizeKB: 1024, totalLogsSizeKB: 10240 },
  interpolateComponentConfiguration: false,
  platformOverride: {},
};

function nucleusRecipe(version: string): Recipe {
  return toRecipe({
    RecipeFormatVersion: '2020-01-25',
    ComponentName: NUCLEUS,
    ComponentVersion: version,
    ComponentType: 'aws.greengrass.nucleus',
    ComponentDescription: 'The Greengrass nucleus; on meadow devices, the meadow agent.',
    ComponentPublisher: 'AWS',
    ComponentConfiguration: { DefaultConfiguration: NUCLEUS_DEFAULTS },
    Manifests: [
      { Platform: { os: 'linux' }, Lifecycle: {} },
      { Platform: { os: 'darwin' }, Lifecycle: {} },
      { Platform: { os: 'windows' }, Lifecycle: {} },
    ],
  });
}

export interface PublicComponentVersion {
  name: string;
  version: string;
  recipe: string;
}

/** Public component name -> its versions (canonical recipe JSON). */
export const PUBLIC_COMPONENTS: ReadonlyMap<string, PublicComponentVersion[]> = new Map([
  [NUCLEUS, NUCLEUS_VERSIONS.map((version) => ({ name: NUCLEUS, version, recipe: recipeToJson(nucleusRecipe(version)) }))],
]);

/** AWS publishes its components under this prefix; a name here that meadow does not ship cannot be deployed. */
export const isAwsComponentName = (name: string) => name.startsWith('aws.greengrass.');
