#!/usr/bin/env node
// `meadow agent` runs the agent's prebuilt bundle (dist/agent.mjs, built by `npm install` / `npm run build:agent`):
// plain JavaScript starts faster and idles smaller on a device. Everything else runs the TypeScript sources
// through tsx.
import { existsSync } from 'node:fs';

const [command, ...args] = process.argv.slice(2);
const agentBundle = new URL('../dist/agent.mjs', import.meta.url);

if (command === 'agent' && existsSync(agentBundle)) {
  const { runAgent } = await import(agentBundle.href);
  runAgent(args).catch((e) => {
    process.stderr.write(`meadow: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
