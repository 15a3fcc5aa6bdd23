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
  body: Uint8Array<ArrayBuffer>;
  etag: string;
  builtAt: number;
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
    if (answer && Date.now() - answer.builtAt > this.maxAgeMs) {
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
  async store(key: string, generation: number, response: Response): Promise<CachedAnswer> {
    const body = new Uint8Array(await response.arrayBuffer());
    const etag = response.headers.get("etag") ?? `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => {
      if (name !== "etag" && name !== "content-length") headers.push([name, value]);
    });
    headers.push(["etag", etag], ["content-length", String(body.byteLength)]);
    const answer = { status: response.status, headers, body, etag, builtAt: Date.now() };
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

/**
 * The answer as a Response: headers only for HEAD, 304 when the client has it.
 * A full answer's Response carries no body of its own: copying the kept bytes
 * into every Response would cost more than the rest of the request. The
 * adapter writes them (cachedAnswerOf), or withKeptBody() puts them in.
 */
export function answerResponse(answer: CachedAnswer, method: string, ifNoneMatch: string | null): Response {
  if (noneMatch(ifNoneMatch, answer.etag)) {
    const headers = answer.headers.filter(([name]) => name !== "content-length" && name !== "content-type");
    return new Response(null, { status: 304, headers });
  }
  const response = new Response(null, { status: answer.status, headers: answer.headers });
  if (method !== "HEAD") (response as Response & { [ANSWER]?: CachedAnswer })[ANSWER] = answer;
  return response;
}

/** The kept bytes a response made by answerResponse stands for, for adapters that write them as they are. */
export function cachedAnswerOf(response: Response): CachedAnswer | undefined {
  return (response as Response & { [ANSWER]?: CachedAnswer })[ANSWER];
}

/** The response with its kept bytes as its body, for runtimes that send Responses as they are. */
export function withKeptBody(response: Response): Response {
  const answer = cachedAnswerOf(response);
  return answer ? new Response(answer.body, { status: response.status, headers: response.headers }) : response;
}
