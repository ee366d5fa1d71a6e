// Recipes and artifacts on the device, in the nucleus's layout. See docs/architecture.md (agent).
export { ComponentStore, componentRef, type ArtifactSource, type ComponentStoreOptions, type RecipeMetadata } from './store.js';
export { UnsafeZipEntryError, unzipInto } from './unzip.js';
