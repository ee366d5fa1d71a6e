// What every operation handler receives: who is calling (account and region scope), the store, the clock.
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { DownloadUrlSigner } from '../artifacts/download-url.js';
import type { Clock } from '../core/clock.js';
import type { CertificateAuthority } from '../devices/identity/ca.js';
import type { Scope, Store } from '../store/store.js';

export interface RequestContext {
  scope: Scope;
  store: Store;
  clock: Clock;
  requestId: string;
  operation: string;
  artifacts: ArtifactStore;
  downloads: DownloadUrlSigner;
  /** The CA that signs device certificates. */
  /** meadow's certificate authority, loaded on first use. */
  ca: () => Promise<CertificateAuthority>;
  /** scheme://host:port the caller reached meadow at: the base of URLs handed back to it. */
  baseUrl: string;
}

// Inputs arrive already validated against the operation's input shape by the wire layer.
export type Input = Record<string, any>;
export type Output = Record<string, unknown> | void;
export type Handler = (ctx: RequestContext, input: Input) => Promise<Output>;
export type HandlerTable = Record<string, Handler>;
