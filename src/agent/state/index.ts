// The agent's durable state: atomic multi-document commits under ROOT/state.
export * from './documents.js';
export { StateStore } from './state-store.js';
export { writeFileAtomic } from './atomic-file.js';
