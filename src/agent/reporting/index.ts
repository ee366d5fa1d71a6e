// What the agent reports (job updates, deployment shadow, fleet status) and the durable outbox they go out through.
export * from './messages.js';
export * from './outbox.js';
