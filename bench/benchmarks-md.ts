// Writing results into BENCHMARKS.md: each benchmark owns a block between its own markers and replaces only that.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Replaces the block between `start` and `end` (markers included in `block`), or appends it. */
export function writeBlock(start: string, end: string, block: string): void {
  const file = join(ROOT, 'BENCHMARKS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + block + current.slice(to + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

/** The machine a run came from, and the commit (marked when the server's sources had uncommitted changes). */
export function machineLines(): string[] {
  const osRelease = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? 'unknown';
  return [
    `- Machine: ${execFileSync('nproc').toString().trim()} cores (\`nproc\`), ${cpus()[0]?.model.trim() ?? 'unknown'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory`,
    `- ${osRelease}, Linux ${release()}; Node ${process.version}`,
  ];
}

export function commitDescription(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    let commit = git('rev-parse', '--short', 'HEAD');
    if (git('status', '--porcelain', '--', 'src', 'bin', 'model', 'package.json')) commit += ' plus uncommitted changes to the server';
    return commit;
  } catch {
    return 'unknown';
  }
}
