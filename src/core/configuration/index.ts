// Component configuration on the device, as the Greengrass nucleus keeps it: the timestamped, case-insensitive
// tree; what a deployment's reset + merge does to it; recipe variables; and what a change does to the process.
// Pure, no I/O.
export * from './tree.js';
export * from './update.js';
export * from './changes.js';
export * from './interpolate.js';
export { arrayIndexOf, JsonPointerError, mayPointIntoArray, pointerSegments, valueAtPointer } from './pointer.js';
