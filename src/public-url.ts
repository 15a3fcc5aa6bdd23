// The absolute URL clients should use to reach us, for browser_download_url
// and friends: PUBLIC_URL when configured; else, behind a trusted proxy, what
// the proxy says (Forwarded, then X-Forwarded-*); else the request's own Host.
// Forwarding headers are ignored unless TRUST_PROXY is on: anyone can send them.

export interface PublicUrlOptions {
  publicUrl: string | null;
  trustProxy: boolean;
}

/** What publicBaseUrl reads of a request: a Request, or the adapters' lighter RequestHead. */
export interface UrlSource {
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  /** The URL's scheme, when the adapter knows it without building the URL. */
  readonly scheme?: "http" | "https";
}

// The last base built from a Host header alone. Every kept answer needs its
// base, and clients of one server send one Host; checking and joining it
// again was a fifth of what the app spends on a kept answer.
let lastDirect = { host: "", secure: false, base: "" };

export function publicBaseUrl(request: UrlSource, opts: PublicUrlOptions): string {
  if (opts.publicUrl) return opts.publicUrl;
  const secure = request.scheme ? request.scheme === "https" : request.url.startsWith("https:");
  const hostHeader = request.headers.get("host");
  if (!opts.trustProxy && hostHeader !== null && hostHeader === lastDirect.host && secure === lastDirect.secure) return lastDirect.base;
  // The request's URL is parsed only when the Host header cannot be used.
  let proto = secure ? "https" : "http";
  let host = hostHeader ?? new URL(request.url).host;
  if (opts.trustProxy) {
    const forwarded = parseForwarded(request.headers.get("forwarded"));
    const xProto = firstValue(request.headers.get("x-forwarded-proto"));
    const xHost = firstValue(request.headers.get("x-forwarded-host"));
    proto = forwarded.proto ?? xProto ?? proto;
    host = forwarded.host ?? xHost ?? host;
  }
  proto = proto.toLowerCase();
  if (proto !== "http" && proto !== "https") proto = "http";
  if (!isPlausibleHost(host)) host = new URL(request.url).host; // never echo a malformed host into links
  const base = `${proto}://${host}`;
  if (!opts.trustProxy && hostHeader === host) lastDirect = { host, secure, base };
  return base;
}

/** A Host value made only of the characters a host name, IP literal and port can hold. */
export function isPlausibleHost(host: string): boolean {
  return /^[A-Za-z0-9.\-_~:[\]]+$/.test(host);
}

function firstValue(header: string | null): string | undefined {
  const v = header?.split(",")[0].trim();
  return v || undefined;
}

/** RFC 7239: the first (client-most) element's proto and host. */
function parseForwarded(header: string | null): { proto?: string; host?: string } {
  if (!header) return {};
  const first = header.split(",")[0];
  const out: { proto?: string; host?: string } = {};
  for (const pair of first.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    const value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    if (key === "proto" && value) out.proto = value;
    if (key === "host" && value) out.host = value;
  }
  return out;
}
