// Fleet status (health) messages from core devices and the core-device record they keep (semantics §8.6, §8.7).
export * from './message.js';
export * from './apply.js';
export * from './build.js';
