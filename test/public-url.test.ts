// The base URL put into links: PUBLIC_URL, else the request's Host, and the
// forwarding headers only when TRUST_PROXY is on.

import t from "tap";
import { publicBaseUrl } from "../src/public-url.js";

const request = (headers: Record<string, string> = {}, url = "http://127.0.0.1:8000/latest") => new Request(url, { headers });
const base = (headers: Record<string, string>, trustProxy = false, publicUrl: string | null = null) =>
  publicBaseUrl(request(headers), { publicUrl, trustProxy });

t.test("PUBLIC_URL wins over everything", async (t) => {
  t.equal(base({ host: "evil.example", "x-forwarded-host": "x.example" }, true, "https://releases.example.com"), "https://releases.example.com");
});

t.test("without PUBLIC_URL, the request's Host", async (t) => {
  t.equal(base({ host: "releases.local:9000" }), "http://releases.local:9000");
  t.equal(base({}), "http://127.0.0.1:8000", "no Host header: the request URL's host");
  t.equal(base({ host: "[::1]:8000" }), "http://[::1]:8000");
  t.equal(base({ host: "bad host/<x>" }), "http://127.0.0.1:8000", "a malformed Host is never echoed into links");
});

t.test("forwarding headers are ignored unless TRUST_PROXY is on", async (t) => {
  const h = { host: "internal:8000", forwarded: 'proto=https;host="public.example"', "x-forwarded-proto": "https", "x-forwarded-host": "x.example" };
  t.equal(base(h, false), "http://internal:8000");
});

t.test("behind a trusted proxy: Forwarded, then X-Forwarded-*", async (t) => {
  t.equal(base({ host: "internal:8000", forwarded: 'for=1.2.3.4;proto=https;host="public.example", for=5.6.7.8;host=inner' }, true), "https://public.example", "the first (client-most) element");
  t.equal(base({ host: "internal:8000", forwarded: "for=1.2.3.4;proto=https", "x-forwarded-host": "x.example" }, true), "https://x.example", "each part falls back on its own");
  t.equal(base({ host: "internal:8000", forwarded: "garbage;proto=" }, true), "http://internal:8000", "unusable Forwarded is ignored");
  t.equal(base({ host: "internal:8000", "x-forwarded-proto": "HTTPS, http", "x-forwarded-host": "a.example, b.example" }, true), "https://a.example");
  t.equal(base({ host: "internal:8000", "x-forwarded-proto": "gopher" }, true), "http://internal:8000", "only http or https");
  t.equal(base({ host: "internal:8000", "x-forwarded-host": "evil.example/path?" }, true), "http://127.0.0.1:8000", "a malformed forwarded host is not echoed");
  t.equal(base({ host: "internal:8000" }, true), "http://internal:8000", "no forwarding headers: the Host");
});
