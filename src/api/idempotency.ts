// clientToken idempotency (semantics §9): a repeat of a successful request within 8 hours returns the first
// response; a repeat while the first is still running is RequestAlreadyInProgress; the same token with a
// different request is a ConflictException. Failed requests are not remembered, so their retries run again.
import { createHash } from 'node:crypto';
import { conflict, MeadowError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import type { Input, RequestContext } from './context.js';

export const TOKEN_TTL_MS = 8 * 60 * 60 * 1000;
/** A claim older than this whose request never finished (its process died) may be taken over. */
export const TOKEN_STALE_MS = 60 * 1000;

function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return v.getTime();
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Hash of the request without its token: what "the same request" means. */
export function requestHash(input: Input): string {
  const { clientToken: _ignored, ...rest } = input;
  return createHash('sha256').update(JSON.stringify(stable(rest))).digest('hex');
}

// Responses are kept as JSON; Dates survive the round trip tagged.
const encode = (v: unknown) =>
  JSON.parse(JSON.stringify(v, function (this: any, k: string, val: unknown) {
    const orig = this[k];
    return orig instanceof Date ? { $date: orig.getTime() } : val;
  }));
const decode = (v: unknown) =>
  JSON.parse(JSON.stringify(v), (_k, val) => (val && typeof val === 'object' && '$date' in val ? new Date(val.$date) : val));

export async function idempotent<T>(ctx: RequestContext, input: Input, work: (tx: Store) => Promise<T>): Promise<T> {
  const token: string | undefined = input.clientToken;
  if (token === undefined) return ctx.store.transaction(work);
  const key = { operation: ctx.operation, token };
  const hash = requestHash(input);
  const claim = await ctx.store.claimToken(ctx.scope, key, hash, ctx.clock.now(), TOKEN_TTL_MS, TOKEN_STALE_MS);
  if (claim.state === 'done') {
    if (claim.requestHash !== hash) {
      throw conflict(
        'clientToken',
        token,
        `The clientToken '${token}' was already used for a different ${ctx.operation} request. Use a new clientToken for a new request.`,
      );
    }
    return decode(claim.response) as T;
  }
  if (claim.state === 'in-progress') {
    throw new MeadowError('InProgress', `A ${ctx.operation} request with clientToken '${token}' is still being processed.`);
  }
  try {
    return await ctx.store.transaction(async (tx) => {
      const result = await work(tx);
      await tx.completeToken(ctx.scope, key, encode(result), ctx.clock.now());
      return result;
    });
  } catch (e) {
    await ctx.store.releaseToken(ctx.scope, key);
    throw e;
  }
}
