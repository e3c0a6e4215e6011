/**
 * Bundled into one ESM file, CommonJS dependencies (tar-stream and its helpers) call
 * `require('events')`, which esbuild's ESM output cannot serve. A global `require` made
 * with createRequire lets those calls reach Node's builtins. Imported first by main.ts.
 */
import { createRequire } from 'node:module';

const g = globalThis as { require?: NodeJS.Require };
if (typeof g.require === 'undefined') g.require = createRequire(import.meta.url);
