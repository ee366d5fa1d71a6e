// The device agent's footprint (issue 5: "start in well under a second and idle in a few tens of MB"): time from
// spawning `meadow agent` (the prebuilt dist/agent.mjs) to its MQTT connection, and its resident memory once it runs
// one idle component. A real meadow server on SQLite; three runs. `npm run bench:agent`.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { AgentTestbed, MEADOW_BIN, agentIsRoot, waitFor } from '../test/helpers/agent.js';
import { startTestServer } from '../test/helpers/server.js';

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const server = await startTestServer('sqlite');
const bed = await new AgentTestbed(server).init();
await bed.publish('com.example.Idle', '1.0.0', { script: '#!/bin/sh\nexec sleep 3600\n', lifecycle: { Run: 'sh {artifacts:path}/run.sh' } });
const rows: string[] = [];
try {
  for (let run = 1; run <= 3; run++) {
    const group = `footprint-${run}-${Date.now()}`;
    const device = await bed.newDevice([group]);
    const started = performance.now();
    const child = spawn(process.execPath, [MEADOW_BIN, 'agent', '--bundle', device.bundle, '--root', device.root, '--log-level', 'info', ...(agentIsRoot ? ['--default-user', 'root'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let connectedMs: number | undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (connectedMs === undefined && /connected/i.test(chunk.toString())) connectedMs = performance.now() - started;
    });
    await waitFor('the agent to connect', () => connectedMs);
    const { deploymentId } = await bed.deploy({ targetArn: await bed.groupArn(group), components: { 'com.example.Idle': { componentVersion: '1.0.0' } } });
    const ended = await bed.ended(device.thingName, deploymentId!);
    if (ended.coreDeviceExecutionStatus !== 'SUCCEEDED') throw new Error(`deployment ended ${ended.coreDeviceExecutionStatus}`);
    await new Promise((r) => setTimeout(r, 5000)); // idle
    rows.push(`| ${run} | ${Math.round(connectedMs!)} ms | ${rssMb(child.pid!).toFixed(0)} MB |`);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
} finally {
  await bed.close();
  await server.close();
}
console.log(['| run | spawn -> connected | idle RSS, one component running |', '|---|---|---|', ...rows].join('\n'));
