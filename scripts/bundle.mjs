// Bundles the CLI into one file: `berth` start-up is on the path of every `berth run`,
// and loading one pre-linked module is faster than resolving dozens of ESM files.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/berth.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external: ['koffi', 'node-unix-socket'],
  logLevel: 'warning',
  // CommonJS dependencies (tar-stream) call require() for Node builtins; give the ESM bundle one.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
});
