// A web-standard Request over a node:http IncomingMessage, built lazily.
// Constructing Node's own Request costs more than the rest of a small request
// put together (it allocates an AbortSignal, validates and copies headers), so
// the common fields are read straight from the IncomingMessage, and a real
// Request is made only if a handler uses anything else.

import type { IncomingMessage } from "node:http";
import type { RequestHead } from "../../app.js";
import { isPlausibleHost } from "../../public-url.js";


class NodeRequest {
  #req: IncomingMessage;
  #makeBody: () => ReadableStream<Uint8Array> | null;
  #url?: string;
  #headers?: Headers;
  #body?: ReadableStream<Uint8Array> | null;
  #native?: Request;
  #scheme: "http" | "https";

  constructor(req: IncomingMessage, makeBody: () => ReadableStream<Uint8Array> | null, scheme: "http" | "https") {
    this.#req = req;
    this.#makeBody = makeBody;
    this.#scheme = scheme;
  }

  get method(): string {
    return this.#req.method ?? "GET";
  }

  get url(): string {
    this.#url ??= ownUrl(this.#req, this.#scheme);
    return this.#url;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      const raw = this.#req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
      this.#headers = headers;
    }
    return this.#headers;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === undefined) this.#body = this.#makeBody();
    return this.#body;
  }

  /** The full Request, for everything the fields above do not cover. */
  get native(): Request {
    this.#native ??= new Request(this.url, {
      method: this.method,
      headers: this.headers,
      body: this.body,
      // @ts-expect-error: Node's fetch needs duplex for streamed request bodies; the DOM types lack it.
      duplex: "half",
    });
    return this.#native;
  }
}

// Every other Request member (signal, text(), formData(), clone(), ...) goes to the full Request.
for (const key of Object.getOwnPropertyNames(Request.prototype)) {
  if (key === "constructor" || key in NodeRequest.prototype) continue;
  Object.defineProperty(NodeRequest.prototype, key, {
    get(this: NodeRequest) {
      const value = (this.native as unknown as Record<string, unknown>)[key];
      return typeof value === "function" ? value.bind(this.native) : value;
    },
  });
}
Object.setPrototypeOf(NodeRequest.prototype, Request.prototype);

/** The URL a request was addressed to, as the Request would have it. */
function ownUrl(req: IncomingMessage, scheme: "http" | "https"): string {
  const host = req.headers.host;
  // Only origin-form targets ("/path?query"); anything else is answered 404 by the router.
  const target = req.url?.startsWith("/") ? req.url : "/";
  return `${scheme}://${host && isPlausibleHost(host) ? host : "localhost"}${target}`;
}

/** A request's head for App.answerAtOnce: read straight from the IncomingMessage, no Headers object. */
class NodeHead implements RequestHead {
  constructor(
    private readonly req: IncomingMessage,
    readonly scheme: "http" | "https",
  ) {}

  get method(): string {
    return this.req.method ?? "GET";
  }

  get target(): string {
    return this.req.url ?? "/";
  }

  get url(): string {
    return ownUrl(this.req, this.scheme);
  }

  get headers(): { get(name: string): string | null } {
    return this;
  }

  /** As Headers.get: a header sent more than once is its values joined by ", " (Node joins most such headers alike). */
  get(name: string): string | null {
    const value = this.req.headers[name];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  }
}

export function headOf(req: IncomingMessage, scheme: "http" | "https" = "http"): RequestHead {
  return new NodeHead(req, scheme);
}

export function toRequest(req: IncomingMessage, makeBody: () => ReadableStream<Uint8Array> | null, scheme: "http" | "https" = "http"): Request {
  return new NodeRequest(req, makeBody, scheme) as unknown as Request;
}
