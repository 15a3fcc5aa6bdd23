// TLS_CERT_FILE / TLS_KEY_FILE: the server speaks HTTPS itself under Node,
// Bun and Deno, and its links say https://.

import t from "tap";
import { curl } from "./helpers/http.js";
import { keptDir, startServer } from "./helpers/server.js";
import { makeCertificate } from "./helpers/tls.js";

t.test("HTTPS under every runtime", async (t) => {
  const dir = await keptDir(t);
  const { cert, key } = await makeCertificate(dir);
  for (const runtime of ["node", "bun", "deno"] as const) {
    await t.test(runtime, async (t) => {
      const server = await startServer({ runtime, env: { TLS_CERT_FILE: cert, TLS_KEY_FILE: key } });
      t.teardown(() => server.stop());
      t.match(server.url, /^https:\/\//, "the startup line says https");
      const root = await curl(["--cacert", cert, "-H", "Authorization: token test-token-0123456789", "-D", "-", `${server.url}/api/v3/`]);
      t.equal(root.code, 0, root.stderr);
      t.match(root.stdout, runtime === "deno" ? /^HTTP\/(1\.1|2) 200/ : /^HTTP\/1\.1 200/, "HTTP/1.1 over TLS (Deno also offers HTTP/2)");
      t.match(root.stdout, /x-oauth-scopes: repo/i, "the scopes gh reads with a valid token");
      t.match(root.stdout, `"current_user_url":"${server.url}/api/v3/user"`, "links use https");
      const plain = await curl(["-o", "/dev/null", "-w", "%{http_code}", server.url.replace("https:", "http:") + "/health"]);
      t.not(plain.stdout, "200", "plain HTTP is not served on the TLS port");
    });
  }
});

t.test("a bad TLS setting stops startup with one line", async (t) => {
  const { runUntilExit } = await import("./helpers/server.js");
  const alone = await runUntilExit({ TLS_CERT_FILE: "/nonexistent/cert.pem" });
  t.equal(alone.code, 1);
  t.match(alone.output, /TLS_CERT_FILE="\/nonexistent\/cert.pem": TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
  const missing = await runUntilExit({ TLS_CERT_FILE: "/nonexistent/cert.pem", TLS_KEY_FILE: "/nonexistent/key.pem" });
  t.equal(missing.code, 1);
  t.match(missing.output, /TLS_CERT_FILE="\/nonexistent\/cert.pem": cannot read the file/);
});
