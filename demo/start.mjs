// `npm run demo` entry: bundles the demo (TypeScript) with esbuild into dist/demo/, then runs it.
// Kept as plain JS so it needs nothing but `npm ci` (esbuild is a devDependency). Arguments are passed through
// (`npm run demo -- --short`).
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, 'dist/demo');

await build({
  entryPoints: {
    main: resolve(root, 'demo/main.ts'),
    servers: resolve(root, 'demo/servers.ts'),
    'node-runtime': resolve(root, 'demo/runtime/node-runtime.ts'),
  },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});

const r = spawnSync(process.execPath, [resolve(outdir, 'main.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
