// Builds the device agent into one JavaScript file (dist/agent.mjs) that `meadow agent` runs without the TypeScript
// loader: a device gets a fast start and a small idle footprint (see BENCHMARKS.md). Runs on `npm install` (prepare)
// and before `npm test`, so the bundle always matches src/agent.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('../src/agent/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/agent.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __meadowCreateRequire } from 'node:module'; const require = __meadowCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
