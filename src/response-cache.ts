// Answers that depend only on the index (the release JSON under every prefix,
// /packages, SHA256SUMS, .sha256, the HTML pages) are built once and then
// served as bytes: nothing in them changes between two uploads. A handler
// says so by being wrapped in dependsOnIndex(); the app keeps one cache of
// their GET answers, keyed by everything else they read (the path and query,
// the public base URL, Accept, whether a token was sent), and empties it
// whenever the index changes: an upload, a delete, retention, a change behind
// the server's back (the store tells), or saved download counts.
//
// A cached answer carries a strong ETag of its bytes, so If-None-Match is
// answered 304 without building anything. An answer is also rebuilt once it
// is a second old: changes no notice reaches (another process's release
// metadata, files copied by hand into a repository nobody asked about) show
// within that second, at the cost of one rebuild a second per question.
//
// A download of a small package (one the store holds in memory, with a
// synchronous check that the file is still those bytes) is kept the same
// way, for requests without Range or conditions: it is checked on every use
// and counted as a download once sent.
//
// Adapters try answerAtOnce() (app.ts) before anything else: a kept answer
// is found from the request's head alone, without a Request, a URL or a
// Response, which is most of what a small answer costs.

import { createHash } from "node:crypto";
import type { Handler } from "./context.js";

const INDEX_ONLY = Symbol("depends-on-index");

/** Marks a handler whose GET answers depend only on the index and the request's key. */
export function dependsOnIndex(handler: Handler): Handler {
  (handler as Handler & { [INDEX_ONLY]?: true })[INDEX_ONLY] = true;
  return handler;
}

export function isIndexOnly(handler: Handler): boolean {
  return (handler as Handler & { [INDEX_ONLY]?: true })[INDEX_ONLY] === true;
}

export interface CachedAnswer {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  etag: string;
  builtAt: number;
  /** The route pattern that made it, for metrics and the access log. */
  route: string;
  /** Package bytes: served only to requests without Range or conditions, and only while valid() holds. */
  package?: { valid(): boolean; onSent?: () => void };
}

/** The cache key of a GET: everything besides the index that such an answer depends on. */
export function cacheKey(pathAndQuery: string, publicBase: string, accept: string | null, authorization: string | null): string {
  const auth = authorization ? createHash("sha256").update(authorization).digest("hex") : "";
  return `${pathAndQuery}\n${publicBase}\n${accept ?? ""}\n${auth}`;
}

// Characters the URL parser leaves as they are in a path, and in a query (where it escapes ').
const IN_PATH = 1;
const IN_QUERY = 2;
const PLAIN = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&()*+,;=:@%/") PLAIN[c.charCodeAt(0)] = IN_PATH | IN_QUERY;
PLAIN["'".charCodeAt(0)] = IN_PATH;
PLAIN["?".charCodeAt(0)] = IN_QUERY;

/**
 * A request target's `pathname + search` exactly as the URL parser would make
 * them, when it can be told without parsing: undefined for anything the
 * parser would change (dot segments, characters it escapes), which then
 * takes the ordinary path. A loop over character codes, not regular
 * expressions: this runs for every request, and under Bun the expressions
 * were a fifth of a kept answer's time.
 */
export function plainTarget(target: string): string | undefined {
  if (target.charCodeAt(0) !== 47) return undefined; // "/"
  let query = -1;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c >= 128) return undefined;
    if (query >= 0) {
      if ((PLAIN[c] & IN_QUERY) === 0) return undefined;
    } else if (c === 63) {
      query = i; // "?"
    } else {
      if ((PLAIN[c] & IN_PATH) === 0) return undefined;
      // A segment that starts with "." or "%2e" may be a dot segment, which the parser removes.
      if (c === 47 && (target.charCodeAt(i + 1) === 46 || (target.charCodeAt(i + 1) === 37 && target.charCodeAt(i + 2) === 50 && (target.charCodeAt(i + 3) | 32) === 101))) return undefined;
    }
  }
  return query === target.length - 1 ? target.slice(0, query) : target;
}

/** Headers that make a package answer other than its plain 200. */
const PACKAGE_CONDITIONS = ["range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"];

/** Whether `answer` may be sent to a request with these headers as it is (304 handling aside). */
export function servesAsIs(answer: CachedAnswer, header: (name: string) => string | null): boolean {
  return !answer.package || PACKAGE_CONDITIONS.every((name) => header(name) === null);
}

const ANSWER = Symbol("cached-answer");

export class ResponseCache {
  private readonly entries = new Map<string, CachedAnswer>();
  /** Bumped by clear(): an answer built before a change is never stored after it. */
  private generation = 0;
  private bytes = 0;

  /** Bounded by count and by bytes; the oldest answer goes first. */
  constructor(
    private readonly maxEntries = 1024,
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly maxAgeMs = 1000,
  ) {}

  get(key: string): CachedAnswer | undefined {
    const answer = this.entries.get(key);
    if (answer && (Date.now() - answer.builtAt > this.maxAgeMs || (answer.package && !answer.package.valid()))) {
      this.drop(key);
      return undefined;
    }
    return answer;
  }

  /** The generation to pass to store(), taken before building the answer. */
  begin(): number {
    return this.generation;
  }

  /** Keeps `response` (a complete 200 answer) as bytes; returns the cached answer to serve. */
  async store(key: string, generation: number, response: Response, route: string): Promise<CachedAnswer> {
    return this.keep(key, generation, response, new Uint8Array(await response.arrayBuffer()), route);
  }

  /** Keeps a 200 download of a whole package held in memory; it is sent again while `valid()` holds. */
  storePackage(key: string, generation: number, response: Response, bytes: Uint8Array, route: string, pkg: NonNullable<CachedAnswer["package"]>): void {
    this.keep(key, generation, response, bytes, route, pkg);
  }

  private keep(key: string, generation: number, response: Response, body: Uint8Array, route: string, pkg?: CachedAnswer["package"]): CachedAnswer {
    const etag = response.headers.get("etag") ?? `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => {
      if (name !== "etag" && name !== "content-length") headers.push([name, value]);
    });
    headers.push(["etag", etag], ["content-length", String(body.byteLength)]);
    const answer: CachedAnswer = { status: response.status, headers, body, etag, builtAt: Date.now(), route, ...(pkg ? { package: pkg } : {}) };
    if (generation === this.generation && body.byteLength <= this.maxBytes / 4) {
      this.drop(key);
      while (this.entries.size >= this.maxEntries || this.bytes + body.byteLength > this.maxBytes) {
        this.drop(this.entries.keys().next().value as string);
      }
      this.entries.set(key, answer);
      this.bytes += body.byteLength;
    }
    return answer;
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.bytes = 0;
  }

  private drop(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.bytes -= old.body.byteLength;
  }
}

/** Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 13.1.2). */
export function noneMatch(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/** What to send for a kept answer: headers only for HEAD, 304 when the client has it. */
export function keptReply(answer: CachedAnswer, method: string, ifNoneMatch: string | null): { status: number; headers: [string, string][]; body: Uint8Array | null } {
  if (noneMatch(ifNoneMatch, answer.etag)) {
    return { status: 304, headers: answer.headers.filter(([name]) => name !== "content-length" && name !== "content-type"), body: null };
  }
  return { status: answer.status, headers: answer.headers, body: method === "HEAD" ? null : answer.body };
}

/**
 * The answer as a Response. A full answer's Response carries no body of its
 * own: copying the kept bytes into every Response would cost more than the
 * rest of the request. The adapter writes them (cachedAnswerOf), or
 * withKeptBody() puts them in.
 */
export function answerResponse(answer: CachedAnswer, method: string, ifNoneMatch: string | null): Response {
  const reply = keptReply(answer, method, ifNoneMatch);
  const response = new Response(null, { status: reply.status, headers: reply.headers });
  if (reply.body) (response as Response & { [ANSWER]?: CachedAnswer })[ANSWER] = answer;
  return response;
}

/** The kept bytes a response made by answerResponse stands for, for adapters that write them as they are. */
export function cachedAnswerOf(response: Response): CachedAnswer | undefined {
  return (response as Response & { [ANSWER]?: CachedAnswer })[ANSWER];
}

/** The response with its kept bytes as its body, for runtimes that send Responses as they are. */
export function withKeptBody(response: Response): Response {
  const answer = cachedAnswerOf(response);
  return answer ? new Response(answer.body as Uint8Array<ArrayBuffer>, { status: response.status, headers: response.headers }) : response;
}
