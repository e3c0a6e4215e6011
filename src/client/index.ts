/** Berth's Engine API client: import from here. */
export * from './client.js';
export * from './errors.js';
export * from './host.js';
export * from './stream.js';
export type * from './types.js';
