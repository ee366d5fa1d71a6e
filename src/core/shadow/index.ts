// AWS IoT Device Shadow rules (update, delta, reply documents, limits). Pure: no I/O.
export * from './rules.js';
