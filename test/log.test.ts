// The structured logger: levels, JSON and text lines, the request id.

import t from "tap";
import { createLogger, textLine } from "../src/ops/log.js";
import { inScope, requestIdFrom } from "../src/ops/request-scope.js";

const now = () => new Date("2026-05-01T10:00:00.000Z");

t.test("JSON lines carry time, level, message, fields and the request id", async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "json", write: (l) => lines.push(l), now });
  log("plain");
  log.debug("hidden below info");
  log.warn("careful", { package: "a.zip", err: new Error("boom") });
  inScope({ id: "req-1", method: "GET", path: "/", start: 0, client: "", userAgent: "" }, () => log.error("inside"));
  const parsed = lines.map((l) => JSON.parse(l));
  t.same(parsed[0], { time: "2026-05-01T10:00:00.000Z", level: "info", msg: "plain" });
  t.match(parsed[1], { level: "warn", msg: "careful", package: "a.zip", err: /Error: boom/ });
  t.match(parsed[2], { level: "error", msg: "inside", request_id: "req-1" });
  t.equal(lines.length, 3, "debug is below the info threshold");
});

t.test("text lines are one line with key=value pairs, quoted when needed", async (t) => {
  t.equal(textLine({ time: "T", level: "info", msg: "request", status: 200, path: "/a b", ok: true }), 'T INFO  request status=200 path="/a b" ok=true');
  t.equal(textLine({ time: "T", level: "info", msg: "up", tokens: ["ci", "laptop"] }), "T INFO  up tokens=ci,laptop", "lists as commas");
  const lines: string[] = [];
  const log = createLogger({ level: "warn", format: "text", write: (l) => lines.push(l), now });
  log.info("dropped");
  log.warn("kept", { multi: "two\nlines" });
  t.same(lines, ['2026-05-01T10:00:00.000Z WARN  kept multi="two\\nlines"']);
});

t.test("X-Request-Id: kept when well-formed, replaced otherwise", async (t) => {
  t.equal(requestIdFrom("abc-123_DEF.4:5"), "abc-123_DEF.4:5");
  for (const bad of [null, "", "has space", "x".repeat(129), "new\nline", 'quote"'] as const) {
    const id = requestIdFrom(bad);
    t.match(id, /^[A-Za-z0-9_-]{16}$/, `generated for ${JSON.stringify(bad)}`);
  }
  t.not(requestIdFrom(null), requestIdFrom(null), "generated ids differ");
});
