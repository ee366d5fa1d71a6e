// JSON Pointers (RFC 6901) as the nucleus reads them, through Jackson's JsonPointer: in configurationUpdate.reset and
// in `{configuration:/path}` recipe variables.
import { isMapping } from '../recipe/keys.js';

/** A pointer that is neither `""` nor starts with `/` (Jackson refuses it). */
export class JsonPointerError extends Error {
  constructor(readonly pointer: string) {
    super(`${JSON.stringify(pointer)} is not a JSON pointer: it must be empty or start with '/'`);
    this.name = 'JsonPointerError';
  }
}

/** The unescaped segments (`~1` is `/`, `~0` is `~`); `""` is the whole document, `[]`. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPointerError(pointer);
  // Jackson keeps a `~` not followed by 0 or 1 as it is; CreateDeployment refuses those (isJsonPointer).
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~([01])/g, (_, d: string) => (d === '1' ? '/' : '~')));
}

/**
 * The array index a segment may name, or -1 (Jackson's rule): decimal digits without a leading zero ("0" itself is
 * fine), at most 2^31-1. A key like "8080" therefore may name an element too.
 */
export function arrayIndexOf(segment: string): number {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(segment)) return -1;
  const n = Number(segment);
  return n <= 2 ** 31 - 1 ? n : -1;
}

/** Whether any segment may name an array element (Jackson's `mayMatchElement` along the pointer). */
export function mayPointIntoArray(segments: readonly string[]): boolean {
  return segments.some((s) => arrayIndexOf(s) >= 0);
}

/**
 * What `JsonNode.at(pointer)` finds in a plain JSON value: object keys match exactly (case-sensitively), array
 * elements by index. Undefined when nothing is there.
 */
export function valueAtPointer(value: unknown, segments: readonly string[]): unknown {
  let node = value;
  for (const segment of segments) {
    if (Array.isArray(node)) {
      const i = arrayIndexOf(segment);
      if (i < 0 || i >= node.length) return undefined;
      node = node[i];
    } else if (isMapping(node)) {
      if (!Object.prototype.hasOwnProperty.call(node, segment)) return undefined;
      node = node[segment];
    } else return undefined;
  }
  return node;
}
