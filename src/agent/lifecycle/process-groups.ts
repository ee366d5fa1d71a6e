// The process groups the agent's components run in, recorded on disk so that an agent started after a crash (kill -9,
// OOM) stops what the previous run left behind before it starts the components again: under systemd the nucleus's
// processes die with its unit, and the agent must not leave two copies of a component running either.
// One file per group, `<dir>/<pgid>`, holding the boot it was started in: a recorded id from an earlier boot names
// nothing of ours (ids restart at boot), so only groups of this boot are killed.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { groupAlive, killProcessGroup } from './step-process.js';

function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown'; // no /proc: cannot tell boots apart, trust the record
  }
}

export class ProcessGroupRegistry {
  private readonly bootId = currentBootId();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Recorded as soon as the group exists; a crash before this line leaves an unrecorded group (a very short window). */
  add(pgid: number, component: string, step: string): void {
    writeFileSync(path.join(this.dir, String(pgid)), JSON.stringify({ bootId: this.bootId, component, step }));
  }

  remove(pgid: number): void {
    rmSync(path.join(this.dir, String(pgid)), { force: true });
  }

  /** Kills every recorded group of this boot that still has a live process; forgets all records. Returns what it killed. */
  async killLeftovers(graceMs: number): Promise<{ pgid: number; component: string; step: string }[]> {
    const killed: { pgid: number; component: string; step: string }[] = [];
    for (const entry of readdirSync(this.dir)) {
      const file = path.join(this.dir, entry);
      let record: { bootId?: string; component?: string; step?: string } = {};
      try {
        record = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        // written half at the crash: the id in the name is enough
      }
      const pgid = Number(entry);
      if (Number.isInteger(pgid) && pgid > 1 && (record.bootId === undefined || record.bootId === this.bootId) && groupAlive(pgid)) {
        await killProcessGroup(pgid, graceMs);
        killed.push({ pgid, component: record.component ?? '?', step: record.step ?? '?' });
      }
      rmSync(file, { force: true });
    }
    return killed;
  }
}
