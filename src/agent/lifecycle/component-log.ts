// One component's log file (`<dir>/<Component>.log`), rotated by size: when the next write would pass `maxBytes`
// the file becomes `.log.1`, `.log.1` becomes `.log.2`, ..., and the oldest beyond `keep` is deleted. Rename rotation
// is a dozen lines and needs no library; writes are synchronous so lines from the steps and the runner interleave in
// the order they happened and nothing is lost when the agent stops.
import fs from 'node:fs';
import path from 'node:path';

/** The nucleus's defaults: 1 MB files, 10 MB in all. */
export const DEFAULT_LOG_MAX_BYTES = 1024 * 1024;
export const DEFAULT_LOG_KEEP = 9;

export interface ComponentLogOptions {
  maxBytes?: number;
  /** Rotated files kept besides the current one. */
  keep?: number;
}

export class ComponentLog {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private fd: number | undefined;
  private size = 0;
  private closed = false;

  constructor(dir: string, componentName: string, options: ComponentLogOptions = {}) {
    this.file = path.join(dir, `${componentName}.log`);
    this.maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.keep = options.keep ?? DEFAULT_LOG_KEEP;
  }

  /** Writes one line, prefixed with the time and the source (`runner`, `Install stdout`, ...). */
  line(source: string, text: string): void {
    this.write(`${new Date().toISOString()} [${source}] ${text}\n`);
  }

  /** Lines written after close (a stray process's last output) are dropped. */
  close(): void {
    this.closeFile();
    this.closed = true;
  }

  private closeFile(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private write(text: string): void {
    if (this.closed) return;
    const bytes = Buffer.from(text);
    if (this.fd === undefined) this.open();
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) {
      this.rotate();
      this.open();
    }
    fs.writeSync(this.fd!, bytes);
    this.size += bytes.length;
  }

  private open(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.fd = fs.openSync(this.file, 'a');
    this.size = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.closeFile();
    fs.rmSync(`${this.file}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      if (fs.existsSync(`${this.file}.${i}`)) fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    }
    if (this.keep > 0) fs.renameSync(this.file, `${this.file}.1`);
    else fs.rmSync(this.file, { force: true });
  }
}

/** Splits a stream's chunks into lines for the log; `flush` writes a last line that had no newline. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; flush(): void } {
  let pending = '';
  return {
    push(chunk) {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop()!;
      lines.forEach((l) => onLine(l.replace(/\r$/, '')));
    },
    flush() {
      if (pending !== '') onLine(pending);
      pending = '';
    },
  };
}
