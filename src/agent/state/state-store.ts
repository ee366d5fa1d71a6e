// The agent's durable state under ROOT/state: several JSON documents (documents.ts) changed together in atomic
// commits, so a kill at any moment leaves either every document of a commit old or every one new (semantics issue
// §2: "the old state or the new one, never a mix").
//
// On disk: immutable document files `<name>.<generation>.json`, each written and fsynced under a fresh name, and
// `manifest.json` naming the current file of every document. A commit writes the changed documents' new files, syncs
// the directory, then replaces the manifest atomically (atomic-file.ts); that rename is the commit point. Files the
// manifest does not name (a commit that died before its rename, a superseded generation) are removed at open.
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory, TEMP_SUFFIX, writeFileAtomic, writeNewFileSynced } from './atomic-file.js';
import { CODECS, initialState, STATE_DOCUMENTS, StateError, type AgentState, type StateDocumentName } from './documents.js';

const MANIFEST = 'manifest.json';
const FORMAT = 1;
const DOCUMENT_FILE = /^([A-Za-z]+)\.(\d+)\.json$/;

interface Manifest {
  format: number;
  generation: number;
  /** Document name -> its current file; a document without a file has its initial value. */
  documents: Partial<Record<StateDocumentName, string>>;
}

export class StateStore {
  /** Each document's committed JSON text: get() decodes a fresh copy, so callers can never change what is stored. */
  private readonly texts = new Map<StateDocumentName, string>();
  /** Commits run one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The generation the next commit writes; a commit that failed leaves its number used (its files may exist). */
  private nextGeneration: number;

  private constructor(
    readonly dir: string,
    private manifest: Manifest,
  ) {
    this.nextGeneration = manifest.generation + 1;
  }

  /** Opens (creating) the state in `dir`, loading every document and removing what an interrupted commit left. */
  static async open(dir: string): Promise<StateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const manifest = await readManifest(dir);
    const store = new StateStore(dir, manifest);
    for (const name of STATE_DOCUMENTS) {
      const file = manifest.documents[name];
      if (file === undefined) continue;
      const text = await readFile(join(dir, file), 'utf8');
      try {
        CODECS[name].decode(JSON.parse(text), name); // checks it now rather than at first use
      } catch (e) {
        throw new StateError(`agent state ${join(dir, file)} is unreadable: ${(e as Error).message}`);
      }
      store.texts.set(name, text);
    }
    await store.removeUnreferenced();
    return store;
  }

  /** The committed value of a document (a copy). */
  get<K extends StateDocumentName>(name: K): AgentState[K] {
    const text = this.texts.get(name);
    return text === undefined ? initialState()[name] : CODECS[name].decode(JSON.parse(text), name);
  }

  /** Every document (copies). */
  snapshot(): AgentState {
    return Object.fromEntries(STATE_DOCUMENTS.map((n) => [n, this.get(n)])) as unknown as AgentState;
  }

  /**
   * Writes the given documents as one atomic change; resolves once it is durable. Commits are applied in call order;
   * `change` may also be a function of the state as committed so far (for read-modify-write without races).
   */
  commit(change: Partial<AgentState> | ((state: AgentState) => Partial<AgentState>)): Promise<void> {
    const run = this.queue.then(() => this.write(typeof change === 'function' ? change(this.lazySnapshot()) : change));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The state with each document decoded on first use (a change function rarely reads the configuration trees). */
  private lazySnapshot(): AgentState {
    const state = {} as AgentState;
    for (const name of STATE_DOCUMENTS) {
      let value: unknown;
      let decoded = false;
      Object.defineProperty(state, name, {
        enumerable: true,
        get: () => {
          if (!decoded) [value, decoded] = [this.get(name), true];
          return value;
        },
      });
    }
    return state;
  }

  private async write(change: Partial<AgentState>): Promise<void> {
    const names = STATE_DOCUMENTS.filter((n) => Object.hasOwn(change, n));
    if (names.length === 0) return;
    const generation = this.nextGeneration++;
    const next: Manifest = { format: FORMAT, generation, documents: { ...this.manifest.documents } };
    const texts = new Map<StateDocumentName, string>();
    for (const name of names) {
      const text = JSON.stringify((CODECS[name].encode as (v: unknown) => unknown)(change[name]));
      const file = `${name}.${generation}.json`;
      await writeNewFileSynced(join(this.dir, file), text);
      next.documents[name] = file;
      texts.set(name, text);
    }
    await syncDirectory(this.dir); // the new files' names are durable before the manifest can point at them
    await writeFileAtomic(join(this.dir, MANIFEST), JSON.stringify(next));
    const previous = this.manifest;
    this.manifest = next;
    for (const [name, text] of texts) this.texts.set(name, text);
    for (const name of names) {
      const old = previous.documents[name];
      if (old !== undefined) await unlink(join(this.dir, old)).catch(() => undefined);
    }
  }

  private async removeUnreferenced(): Promise<void> {
    const keep = new Set(Object.values(this.manifest.documents));
    for (const file of await readdir(this.dir)) {
      if (keep.has(file)) continue;
      if (file.endsWith(TEMP_SUFFIX) || DOCUMENT_FILE.test(file)) await unlink(join(this.dir, file)).catch(() => undefined);
    }
  }
}

async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { format: FORMAT, generation: 0, documents: {} };
    throw e;
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new StateError(`agent state manifest ${join(dir, MANIFEST)} is not JSON`);
  }
  if (m.format !== FORMAT || !Number.isSafeInteger(m.generation) || typeof m.documents !== 'object' || m.documents === null) {
    throw new StateError(`agent state manifest ${join(dir, MANIFEST)} is not format ${FORMAT}`);
  }
  for (const [name, file] of Object.entries(m.documents)) {
    if (!(STATE_DOCUMENTS as readonly string[]).includes(name) || typeof file !== 'string' || DOCUMENT_FILE.exec(file)?.[1] !== name) {
      throw new StateError(`agent state manifest ${join(dir, MANIFEST)} names '${String(file)}' for '${name}'`);
    }
  }
  return m;
}
