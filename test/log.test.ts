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

t.test("each request's lines keep its id while others start and finish around it", async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "json", write: (l) => lines.push(l), now });
  const scope = (id: string) => ({ id, method: "GET", path: "/", start: 0, client: "", userAgent: "" });
  const tick = () => new Promise((r) => setTimeout(r, 5));
  let releaseA!: () => void;
  const a = inScope(scope("a"), async () => {
    log("a starts");
    await new Promise<void>((r) => (releaseA = r));
    await tick();
    log("a ends");
  });
  await inScope(scope("b"), async () => {
    await tick();
    log("b");
  });
  // b was the only other request in scope and is done; a, still waiting, must keep its id.
  releaseA();
  await a;
  log("between requests");
  await inScope(scope("c"), async () => {
    await tick();
    log("c, after every scope had ended");
  });
  t.throws(() => inScope(scope("d"), () => { throw new Error("thrown"); }), /thrown/);
  await t.rejects(inScope(scope("e"), async () => { throw new Error("rejected"); }), /rejected/);
  await inScope(scope("f"), async () => {
    await tick();
    log("f, after a throw and a rejection");
  });
  const ids = Object.fromEntries(lines.map((l) => JSON.parse(l)).map((l) => [l.msg, l.request_id ?? null]));
  t.same(ids, { "a starts": "a", b: "b", "a ends": "a", "between requests": null, "c, after every scope had ended": "c", "f, after a throw and a rejection": "f" });
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
