// A method + path table. Patterns are literal segments and `:param` segments.
// Parameters are
// percent-decoded exactly once, after the path has been split on "/", so an
// encoded slash (%2F) stays inside its segment and never becomes a separator.

export type Params = Record<string, string>;

export type Match<H> =
  | { kind: "found"; handler: H; params: Params }
  | { kind: "method-not-allowed"; allow: string[] }
  | { kind: "not-found" }
  | { kind: "bad-path" };

interface Route<H> {
  method: string;
  segments: string[];
  handler: H;
}

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method: method.toUpperCase(), segments: split(pattern), handler });
    return this;
  }

  match(method: string, pathname: string): Match<H> {
    const path = split(pathname);
    const allow = new Set<string>();
    for (const route of this.routes) {
      const params = matchSegments(route.segments, path);
      if (params === undefined) continue;
      if (params === null) return { kind: "bad-path" };
      if (route.method === method || (method === "HEAD" && route.method === "GET")) {
        return { kind: "found", handler: route.handler, params };
      }
      allow.add(route.method);
      if (route.method === "GET") allow.add("HEAD");
    }
    if (allow.size > 0) return { kind: "method-not-allowed", allow: [...allow].sort() };
    return { kind: "not-found" };
  }
}

function split(path: string): string[] {
  const parts = path.split("/");
  if (parts[0] === "") parts.shift();
  return parts;
}

/** undefined: no match; null: a parameter is not valid percent-encoding. */
function matchSegments(pattern: string[], path: string[]): Params | undefined | null {
  if (pattern.length !== path.length) return undefined;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i];
    if (seg.startsWith(":")) {
      const value = decode(path[i]);
      if (value === null) return null;
      params[seg.slice(1)] = value;
    } else if (seg !== path[i]) {
      return undefined;
    }
  }
  return params;
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
