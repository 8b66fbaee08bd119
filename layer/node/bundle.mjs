#!/usr/bin/env node
// Bundles the Node handler wrapper into one ESM file for the layer (`npm run build:layer-node`).
// Usage: node layer/node/bundle.mjs [--outfile dist/layer/node/handler.mjs] [--no-minify]
// The layer build copies the output to /opt/egress-guard/node/handler.mjs. pino is CommonJS and `require`s Node
// built-ins; an ESM bundle has no `require`, so the banner defines one with createRequire.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const at = args.indexOf('--outfile');
const outfile = resolve(at >= 0 ? args[at + 1] : resolve(root, 'dist/layer/node/handler.mjs'));
const minify = !args.includes('--no-minify');

await build({
  entryPoints: [resolve(root, 'layer/node/handler.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __egCreateRequire } from 'node:module'; const require = __egCreateRequire(import.meta.url);",
  },
});
