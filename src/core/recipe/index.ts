// Component recipes: parse (JSON or YAML), validate, serialise, and pick the manifest for a device. Pure, no I/O.
export * from './types.js';
export { RecipeError } from './error.js';
export { parseRecipe, toRecipe } from './parse.js';
export { recipeToJson, recipeToYaml } from './serialize.js';
export { platformMatches, selectManifest, recipePlatforms } from './platform.js';
export { artifactFileName, artifactFileMode, artifactRequestName, artifactScheme, unarchiveFolderName, ARTIFACT_FOLDER_MODE } from './artifact.js';
export { selectLifecycle, ALL_SELECTION, type ResolvedLifecycle, type ResolvedStep } from './lifecycle.js';
