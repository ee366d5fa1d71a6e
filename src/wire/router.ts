// Method + raw path → operation, built from each operation's `http.requestUri` in the model.
// Matching is done on the raw (still percent-encoded) path so that labels holding ARNs with `/` (encoded
// as %2F) stay one segment; each label is percent-decoded after matching.
import type { Operation, ServiceModel } from './service-model.js';

type Segment = { literal: string } | { label: string; greedy: boolean };

interface Route {
  operation: Operation;
  method: string;
  segments: Segment[];
  literalCount: number;
}

export interface RouteMatch {
  operation: Operation;
  labels: Record<string, string>;
}

export class BadPathEncoding extends Error {}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadPathEncoding(`Malformed percent-encoding in path segment '${raw}'`);
  }
}

export class Router {
  private readonly routes: Route[] = [];

  constructor(model: ServiceModel, served?: Set<string>) {
    for (const op of Object.values(model.operations)) {
      if (served && !served.has(op.name)) continue;
      const path = op.http.requestUri.split('?')[0];
      const segments: Segment[] = path
        .split('/')
        .slice(1)
        .map((s) => {
          const m = /^\{(\w+)(\+?)\}$/.exec(s);
          return m ? { label: m[1], greedy: m[2] === '+' } : { literal: s };
        });
      this.routes.push({
        operation: op,
        method: op.http.method,
        segments,
        literalCount: segments.filter((s) => 'literal' in s).length,
      });
    }
    // More literal segments first, so /thing-groups/addThingToThingGroup wins over /thing-groups/{name}.
    this.routes.sort((a, b) => b.literalCount - a.literalCount || b.segments.length - a.segments.length);
  }

  /** Operations whose path matches but whose method does not are reported as a miss, like any other. */
  match(method: string, rawPath: string): RouteMatch | undefined {
    const parts = rawPath.split('/').slice(1);
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const labels = matchSegments(route.segments, parts);
      if (labels) return { operation: route.operation, labels };
    }
    return undefined;
  }
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if ('literal' in seg) {
      if (parts[i] !== seg.literal) return undefined;
      continue;
    }
    // An empty segment still binds the label (`GET /things/` is DescribeThing with thingName ''), so the
    // validator can name the member and its length rule instead of answering "no such operation".
    if (parts[i] === undefined) return undefined;
    if (seg.greedy) {
      labels[seg.label] = parts.slice(i).map(decode).join('/');
      return labels;
    }
    labels[seg.label] = decode(parts[i]);
  }
  return parts.length === segments.length ? labels : undefined;
}
