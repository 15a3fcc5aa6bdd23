// What is known about the request being handled, reachable from anywhere in
// its call chain (the logger, the token check) without passing it around.
// AsyncLocalStorage is in Node, Bun and Deno alike.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

export interface RequestScope {
  id: string;
  method: string;
  path: string;
  /** The route pattern that matched, e.g. /assets/:name; set once routed. */
  route?: string;
  start: number; // performance.now() when the request arrived
  client: string;
  userAgent: string;
  /** Name of the token that authorized the request, when one did. */
  token?: string;
  status?: number;
}

/**
 * A request's scope as the app opens it. A class, not an object literal: a
 * literal with a getter is built on V8's slow path, 0.4 µs a request, a
 * sixth of what a kept answer costs the app.
 */
class OpenedScope implements RequestScope {
  path = "";
  route?: string = undefined;
  token?: string = undefined;
  status?: number = undefined;
  readonly start = performance.now();

  constructor(
    readonly id: string,
    readonly method: string,
    readonly userAgent: string,
    private readonly connection: { readonly client?: string },
  ) {}

  /** Read when logged: an adapter may look the address up only then. */
  get client(): string {
    return this.connection.client ?? "";
  }
}

/** A new request's scope: its id (the client's X-Request-Id when well-formed), method and where it came from. */
export function openScope(method: string, headers: { get(name: string): string | null }, connection: { readonly client?: string }): RequestScope {
  return new OpenedScope(requestIdFrom(headers.get("x-request-id")), method, headers.get("user-agent") ?? "", connection);
}

const scopes = new AsyncLocalStorage<RequestScope>();
let inFlight = 0;

/**
 * Runs `fn` (and what it awaits) as the request `scope`. Once no request is in
 * scope, the storage is disabled until the next one: on Node 20 an enabled
 * AsyncLocalStorage makes every promise and socket write call a hook, a tenth
 * of a kept answer's CPU time, and answers sent at once (which never enter a
 * scope) would pay it for as long as the process lives. Work a request leaves
 * running after it is answered may log without its id.
 */
export function inScope<T>(scope: RequestScope, fn: () => T): T {
  inFlight++;
  let result: T;
  try {
    result = scopes.run(scope, fn);
  } catch (err) {
    leave();
    throw err;
  }
  if (result instanceof Promise) result.then(leave, leave);
  else leave();
  return result;
}

function leave(): void {
  if (--inFlight === 0) scopes.disable();
}

export function currentRequest(): RequestScope | undefined {
  return scopes.getStore();
}

const WELL_FORMED = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The client's X-Request-Id when it is well-formed (so it can go into a log line as is), else a new one. */
export function requestIdFrom(header: string | null): string {
  if (header !== null && WELL_FORMED.test(header)) return header;
  return newId();
}

const ID_CHARS = 16; // 12 random bytes in base64url
const POOL_IDS = 512;
let pool = "";
let used = 0;

/**
 * 12 random bytes as base64url, cut from a string of 512 ids made at once: a
 * system call per request was a tenth of a small answer's cost, and encoding
 * each id on its own a twentieth.
 */
function newId(): string {
  if (used === pool.length) {
    pool = randomBytes((ID_CHARS / 4) * 3 * POOL_IDS).toString("base64url");
    used = 0;
  }
  used += ID_CHARS;
  return pool.slice(used - ID_CHARS, used);
}
