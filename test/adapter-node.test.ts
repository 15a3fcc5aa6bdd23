// The Node adapter on its own, with an app that fails where it never should:
// a kept-answer lookup that throws is logged and answered by the ordinary
// path, never the end of the process.

import t from "tap";
import type { App } from "../src/app.js";
import { serve } from "../src/adapters/node.js";
import { createLogger } from "../src/ops/log.js";

t.test("a kept-answer lookup that throws falls back to fetch()", async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "json", write: (line) => lines.push(line) });
  const app: App = {
    answerAtOnce() {
      throw new Error("a bug in the lookup");
    },
    fetch: async () => new Response("answered the ordinary way"),
    finished() {},
    invalidate() {},
    idle: async () => {},
  };
  const server = await serve(app, { host: "127.0.0.1", port: 0, maxBodyBytes: 1024, headersTimeout: 5000, bodyIdleTimeout: 0, sendTimeout: 0, keepAliveTimeout: 1000, maxConnections: 0, log });
  t.teardown(() => server.close());
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${server.url}/latest`);
    t.equal(res.status, 200);
    t.equal(await res.text(), "answered the ordinary way");
  }
  t.match(lines.join("\n"), /failed to look up a kept answer[^]*a bug in the lookup/);
});
