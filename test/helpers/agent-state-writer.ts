// Child process for the agent-state crash test: commits numbered states to the StateStore in DIR as fast as it can,
// printing each number once its commit resolved, until it is killed. Every document of commit n carries n.
import { treeFromValue } from '../../src/core/configuration/index.js';
import { StateStore } from '../../src/agent/state/index.js';

const dir = process.argv[2];
const store = await StateStore.open(dir);
let n = store.get('fleetStatusSequence');
// A configuration of a few hundred KB, so that a kill often lands in the middle of writing a file.
const filler = 'x'.repeat(1000);
for (;;) {
  n++;
  const big = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`key${i}`, { n, text: filler }]));
  await store.commit({
    fleetStatusSequence: n,
    targets: { 'thinggroup/G': { components: { A: `1.0.${n}` }, configurationArn: `arn:g:${n}`, timestamp: n } },
    components: { A: { version: `1.0.${n}`, configuration: treeFromValue({ n, big }, n) } },
    lastProcessedJob: { queuedAt: n, jobId: `job-${n}` },
  });
  process.stdout.write(`${n}\n`);
}
