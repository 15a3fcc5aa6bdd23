// What an operator sees: JSON access lines with request ids, warnings for bad
// tokens, and /metrics in the Prometheus text format, whose counters move.

import parsePrometheusTextFormat from "parse-prometheus-text-format";
import t from "tap";
import { upload } from "./helpers/requests.js";
import { serverFor, TOKEN } from "./helpers/server.js";

type Family = { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string; count?: string; buckets?: Record<string, string> }[] };

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return Number(sample?.value ?? sample?.count ?? 0);
}

const logLines = (output: string) =>
  output
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

t.test("JSON log lines: one per request, with its id; a wrong token is a warning without the token", async (t) => {
  const server = await serverFor(t, { env: { LOG_FORMAT: "json" } });
  const mine = await fetch(`${server.url}/packages`, { headers: { "x-request-id": "trace-42", "user-agent": "ops-test/1.0" } });
  t.equal(mine.headers.get("x-request-id"), "trace-42", "a well-formed id is echoed");
  const generated = await fetch(`${server.url}/nothing`, { headers: { "x-request-id": "not ok\u00e9" } });
  t.match(generated.headers.get("x-request-id"), /^[A-Za-z0-9_-]{16}$/, "a malformed one is replaced, also on errors");
  const wrong = await upload(server, "a.zip", "a", "", { authorization: "Bearer wrong-token-9999999999", "x-request-id": "bad-login" });
  t.equal(wrong.status, 401);
  t.same(await wrong.json(), { detail: "Invalid authentication token" });
  t.equal((await upload(server, "a.zip", "abc")).status, 200);
  await server.stop();

  const lines = logLines(server.output()); // every line parses as JSON
  t.ok(lines.every((l) => typeof l.time === "string" && typeof l.level === "string" && typeof l.msg === "string"));
  t.match(
    lines.find((l) => l.request_id === "trace-42" && l.msg === "request"),
    { level: "info", method: "GET", path: "/packages", route: "/packages", status: 200, bytes_in: 0, bytes_out: Number, duration_ms: Number, client: "127.0.0.1", user_agent: "ops-test/1.0" },
  );
  t.match(
    lines.find((l) => l.request_id === generated.headers.get("x-request-id")),
    { route: "(unmatched)", status: 404 },
  );
  const login = lines.filter((l) => l.request_id === "bad-login");
  t.match(login, [{ level: "warn", msg: "authentication failed", reason: "invalid token" }, { msg: "request", status: 401 }], "the warning and the access line share the id");
  t.notMatch(server.output(), "wrong-token-9999999999", "the presented token is not logged");
  const stored = lines.find((l) => l.msg === "stored a.zip");
  t.match(stored, { level: "info", package: "a.zip", size: 3, request_id: String });
  t.match(lines.find((l) => l.request_id === stored!.request_id && l.msg === "request"), { token: "token-1", status: 200, bytes_in: Number });
  t.ok(lines.some((l) => /^listening on http:/.test(String(l.msg))), "startup");
  t.ok(lines.some((l) => l.msg === "stopped"), "shutdown");
  t.notMatch(server.output(), TOKEN);
});

t.test("/metrics parses as Prometheus text and its counters move", async (t) => {
  const server = await serverFor(t);
  const before = await scrape(server.url);
  for (const name of [
    "release_server_http_requests_total",
    "release_server_http_request_duration_seconds",
    "release_server_packages",
    "release_server_package_bytes",
    "release_server_open_connections",
    "release_server_storage_listings_total",
    "release_server_process_resident_memory_bytes",
    "release_server_nodejs_eventloop_lag_seconds",
  ]) {
    t.ok(before.has(name), name);
  }
  t.equal(value(before, "release_server_packages"), 0);

  await upload(server, "m-v1.0.0.zip", "0123456789");
  await upload(server, "m-v1.0.0.zip", "again"); // 409
  await upload(server, "n.zip", "x", "", { authorization: "Bearer nope-nope-nope" }); // 401
  for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/assets/m-v1.0.0.zip`)).arrayBuffer();

  const after = await scrape(server.url);
  t.equal(value(after, "release_server_http_requests_total", { method: "GET", route: "/assets/:name", status: "200" }), 3, "downloads by route and status");
  t.equal(value(after, "release_server_uploads_total"), 1);
  t.equal(value(after, "release_server_upload_failures_total", { reason: "conflict" }), 1);
  t.equal(value(after, "release_server_upload_failures_total", { reason: "unauthorized" }), 1);
  t.equal(value(after, "release_server_http_response_bytes_total", { route: "/assets/:name" }), 30, "bytes out");
  t.ok(value(after, "release_server_http_request_bytes_total", { route: "/upload" }) > 10, "bytes in");
  t.equal(value(after, "release_server_packages"), 1);
  t.equal(value(after, "release_server_package_bytes"), 10);
  t.equal(after.get("release_server_http_request_duration_seconds")?.type, "HISTOGRAM");
  // parse-prometheus-text-format folds a histogram's labelled series into one, so its count is read from the text.
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const count = /^release_server_http_request_duration_seconds_count\{method="GET",route="\/assets\/:name"\} (\d+)$/m.exec(text);
  t.equal(Number(count?.[1]), 3, "durations observed by route");
  t.ok(value(after, "release_server_open_connections") >= 1, "the scrape's own connection is open");
  t.ok(value(after, "release_server_process_resident_memory_bytes") > 1e6);
});

t.test("METRICS=token and METRICS=off", async (t) => {
  const guarded = await serverFor(t, { env: { METRICS: "token" } });
  t.equal((await fetch(`${guarded.url}/metrics`)).status, 401);
  t.ok((await scrape(guarded.url, guarded.auth)).has("release_server_http_requests_total"));
  const off = await serverFor(t, { env: { METRICS: "off" } });
  t.equal((await fetch(`${off.url}/metrics`)).status, 404);
});
