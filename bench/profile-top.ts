// Summarises a V8 .cpuprofile (from MEADOW_BENCH_CPU_PROF=dir npm run bench): where the server's CPU time went,
// by function (self time) and by source file or package. Usage:
//   node --import tsx bench/profile-top.ts dir/sqlite/CPU....cpuprofile [rows=25] [last-seconds]
// With last-seconds, only the end of the profile counts: the measured period, without startup and warm-up.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, rowsArg, lastArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-top.ts FILE.cpuprofile [rows]');
const rows = Number(rowsArg || 25);
const profile: Profile = JSON.parse(readFileSync(file, 'utf8'));

// Self time per node: each sample's delta belongs to the node that was on top of the stack.
const selfUs = new Map<number, number>();
const sampleTimes: number[] = [];
profile.timeDeltas.reduce((t, d, i) => (sampleTimes[i] = t + d), 0);
const from = lastArg ? sampleTimes[sampleTimes.length - 1] - Number(lastArg) * 1e6 : -Infinity;
profile.samples.forEach((id, i) => {
  if (sampleTimes[i] >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const idle = new Set(['(idle)', '(program)', '(garbage collector)']);

/** node_modules/<package> or a path relative to the checkout; V8's own entries keep their names. */
function place(url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const src = /\/((?:src|bench|bin)\/.*)$/.exec(url);
  if (src) return src[1];
  return url.startsWith('node:') ? url : url || '(native)';
}

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
let total = 0;
let busy = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  total += us;
  const name = idle.has(functionName) ? functionName : `${functionName || '(anonymous)'} ${place(url)}:${lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  const where = idle.has(functionName) ? functionName : place(url);
  byPlace.set(where, (byPlace.get(where) ?? 0) + us);
  if (functionName !== '(idle)') busy += us;
}

const show = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(6)} %  ${k}\n`);
  }
};
process.stdout.write(`${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s not idle; shares below are of the non-idle time\n`);
show('Self time by source file or package:', byPlace);
show('Self time by function:', byFunction);
