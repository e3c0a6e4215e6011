// Bundles the CLI: `berth` start-up is on the path of every `berth run`, and loading a few
// pre-linked modules is faster than resolving dozens of ESM files. Split into the entry
// (dist/berth.mjs) and chunks (dist/berth-chunks/), so a command loads only its own group's code
// and the Node built-ins that code imports (esbuild hoists a chunk's built-in imports to its top:
// one bundle made every command load zlib, crypto, koffi's FFI and the rest).
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: drop the previous build's.
rmSync('dist/berth-chunks', { recursive: true, force: true });

await build({
  // bin/docker-compose (the docker CLI plugin, src/cli/compose-plugin.ts) shares berth's chunks
  entryPoints: { berth: 'src/cli/main.ts', 'docker-compose': 'src/cli/compose-plugin.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'berth-chunks/[name]-[hash]',
  splitting: true,
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

// berth-web's page (src/web/ui/): one browser bundle and its static files in dist/web/, served by
// src/web/server.ts. Nothing is fetched at run time (no CDN): the page works offline.
rmSync('dist/web', { recursive: true, force: true });
mkdirSync('dist/web', { recursive: true });
await build({
  entryPoints: { app: 'src/web/ui/main.ts' },
  outdir: 'dist/web',
  bundle: true,
  platform: 'browser',
  target: 'chrome110',
  format: 'esm',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css', 'favicon.svg']) copyFileSync(`src/web/ui/${f}`, `dist/web/${f}`);
