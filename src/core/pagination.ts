// nextToken handling shared by every paginated operation: tokens are opaque, bound to the operation that
// issued them, and advance with every page, so the same token is never handed out twice in one chain.
import { invalid } from './errors.js';

export function encodeNextToken(operation: string, cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  return Buffer.from(JSON.stringify({ o: operation, c: cursor })).toString('base64url');
}

export function decodeNextToken(operation: string, token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (v && v.o === operation && typeof v.c === 'string') return v.c;
  } catch {
    // fall through
  }
  throw invalid(`The nextToken '${token.slice(0, 64)}' is not valid for ${operation}; pass the nextToken from a previous ${operation} response.`, [
    { name: 'nextToken', message: 'Member must be a nextToken returned by this operation' },
  ]);
}
