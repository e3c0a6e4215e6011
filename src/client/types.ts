/** The client's view of the Engine API's shapes: the one shared module, src/engine-api/types.ts. */
export * from '../engine-api/types.js';
