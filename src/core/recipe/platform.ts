// Which manifest of a recipe applies to a device, from the device's platform attributes (os, architecture, ...).
import type { ComponentPlatform, Manifest, PlatformRequirement, Recipe } from './types.js';

/** Legacy wildcards, honoured only for these two attributes. */
const LEGACY_WILDCARD_ATTRIBUTES = new Set(['os', 'architecture']);

export const isRegexLabel = (label: string) => label.length > 2 && label.startsWith('/') && label.endsWith('/');

/** `/arm(v7|64)/` -> a regex matching the whole label; the Error when the pattern does not compile. */
export function compilePlatformRegex(label: string): RegExp | Error {
  try {
    return new RegExp(`^(?:${label.slice(1, -1)})$`);
  } catch (e) {
    return e as Error;
  }
}

function attributeMatches(attribute: string, required: string, actual: string | undefined): boolean {
  if (required === '*') return true; // even when the device lacks the attribute
  if (LEGACY_WILDCARD_ATTRIBUTES.has(attribute) && (required === 'all' || required === 'any')) return true;
  if (actual === undefined) return false;
  if (isRegexLabel(required)) {
    const regex = compilePlatformRegex(required);
    return regex instanceof RegExp && regex.test(actual);
  }
  return required === actual;
}

/** Does a device with these attributes satisfy a manifest's Platform? No or empty Platform matches every device. */
export function platformMatches(manifestPlatform: PlatformRequirement | undefined, device: Record<string, string>): boolean {
  return Object.entries(manifestPlatform ?? {}).every(([attribute, required]) =>
    attributeMatches(attribute, required, Object.hasOwn(device, attribute) ? device[attribute] : undefined),
  );
}

/** The manifest a device uses: the first whose Platform matches, in recipe order. */
export function selectManifest(recipe: Recipe, device: Record<string, string>): Manifest | undefined {
  return (recipe.Manifests ?? []).find((m) => platformMatches(m.Platform, device));
}

/** The platforms a component supports, as the API reports them: one per manifest, named by the manifest's Name. */
export function recipePlatforms(recipe: Recipe): ComponentPlatform[] {
  return (recipe.Manifests ?? []).map((m) => ({
    ...(m.Name !== undefined ? { name: m.Name } : {}),
    attributes: { ...(m.Platform ?? {}) },
  }));
}
