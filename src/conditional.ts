// Conditional requests (RFC 9110 §13), evaluated in the order §13.2.2 sets:
// If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since; then
// If-Range decides whether a Range header applies at all.

export interface Validators {
  etag: string; // strong, quoted
  lastModified: Date;
}

export type Precondition = "proceed" | "not-modified" | "precondition-failed";

export function evaluatePreconditions(method: string, headers: Headers, v: Validators): Precondition {
  const safe = method === "GET" || method === "HEAD";
  const ifMatch = headers.get("if-match");
  if (ifMatch !== null) {
    if (!matchesAny(ifMatch, v.etag)) return "precondition-failed";
  } else {
    const since = parseDate(headers.get("if-unmodified-since"));
    if (since !== null && seconds(v.lastModified) > since) return "precondition-failed";
  }
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    // Weak comparison for If-None-Match: W/"x" matches "x".
    if (matchesAny(ifNoneMatch, v.etag, true)) return safe ? "not-modified" : "precondition-failed";
  } else if (safe) {
    const since = parseDate(headers.get("if-modified-since"));
    if (since !== null && seconds(v.lastModified) <= since) return "not-modified";
  }
  return "proceed";
}

/** If-Range: the Range applies only when the client's validator still matches exactly. */
export function rangeStillValid(headers: Headers, v: Validators): boolean {
  const ifRange = headers.get("if-range");
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith("W/")) return value === v.etag;
  const date = parseDate(value);
  return date !== null && seconds(v.lastModified) === date;
}

function matchesAny(header: string, etag: string, weak = false): boolean {
  if (header.trim() === "*") return true;
  const bare = (tag: string) => (weak ? tag.replace(/^W\//, "") : tag);
  return header.split(",").some((tag) => {
    const t = tag.trim();
    if (!weak && t.startsWith("W/")) return false; // strong comparison never matches a weak tag
    return bare(t) === etag;
  });
}

/** HTTP dates have whole seconds; so must the comparison. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function parseDate(value: string | null): number | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}
