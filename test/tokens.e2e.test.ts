// Token rotation against the real server: several tokens at once, a rewritten
// token file takes effect without a restart, and no token is ever logged.

import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { eventually, upload } from "./helpers/requests.js";
import { keptDir, serverFor } from "./helpers/server.js";

const CI = "ci-token-aaaaaaaaaaaaaaaa";
const OLD = "old-token-bbbbbbbbbbbbbbbb";
const NEW = "new-token-cccccccccccccccc";
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test("rotation: two tokens work, the file is rewritten, the removed one stops working", async (t) => {
  const dir = await keptDir(t);
  const file = join(dir, "tokens");
  await writeFile(file, `# upload tokens\nci:${CI}\nold:${OLD}\n`);
  const server = await serverFor(t, { env: { AUTH_TOKEN: "", AUTH_TOKEN_FILE: file, LOG_FORMAT: "json" }, secrets: [CI, OLD, NEW] });

  t.equal((await upload(server, "a.zip", "a", "", bearer(CI))).status, 200, "the first token");
  t.equal((await upload(server, "b.zip", "b", "", { authorization: `token ${OLD}` })).status, 200, "the second, as GitHub clients send it");

  // Rewritten in place: noticed without a signal.
  await writeFile(file, `ci:${CI}\nnew:${NEW}\n`);
  t.ok(await eventually(async () => (await upload(server, "c.zip", "c", "?overwrite=true", bearer(OLD))).status === 401), "the removed token stops working");
  t.equal((await upload(server, "d.zip", "d", "", bearer(NEW))).status, 200, "the added one works");
  t.equal((await upload(server, "e.zip", "e", "", bearer(CI))).status, 200, "the kept one still works");

  // Replaced by rename (how editors and Kubernetes write files), then SIGHUP.
  await writeFile(`${file}.next`, `new:${NEW}\n`);
  await rename(`${file}.next`, file);
  server.proc.kill("SIGHUP");
  t.ok(await eventually(async () => (await upload(server, "f.zip", "f", "", bearer(CI))).status === 401), "after SIGHUP the file's tokens are the only ones");

  // A broken file keeps the tokens in use.
  await writeFile(file, "\n# nothing here\n");
  server.proc.kill("SIGHUP");
  t.ok(await eventually(() => /token file not reloaded/.test(server.output())), "an empty file is reported");
  t.equal((await upload(server, "g.zip", "g", "", bearer(NEW))).status, 200, "and the previous tokens stay in use");

  const lines = server.output().trim().split("\n").map((l) => JSON.parse(l));
  const access = lines.filter((l) => l.msg === "request" && l.method === "POST");
  t.ok(access.some((l) => l.token === "ci") && access.some((l) => l.token === "old") && access.some((l) => l.token === "new"), "access lines name the token used");
  t.ok(lines.some((l) => l.msg === "token file reloaded" && l.trigger === "SIGHUP"));
  t.ok(lines.some((l) => l.msg === "token file reloaded" && l.trigger !== "SIGHUP"), "a change is picked up without a signal");
});

t.test("AUTH_TOKEN with several tokens; a short one is accepted with a warning", async (t) => {
  const server = await serverFor(t, { env: { AUTH_TOKEN: `ci:${CI}, short`, LOG_FORMAT: "json" } });
  t.equal((await upload(server, "a.zip", "a", "", bearer(CI))).status, 200);
  t.equal((await upload(server, "b.zip", "b", "", bearer("short"))).status, 200);
  const warning = server
    .output()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((l) => l.level === "warn" && /shorter than 16 characters/.test(l.msg));
  t.match(warning, { token: "token-2" }, "names the token by position, never shows it");
  t.notMatch(server.output(), /"short"|=short\b/);
});

t.test("authentication comes before the size limit, with a JSON answer", async (t) => {
  const server = await serverFor(t, { env: { MAX_UPLOAD_SIZE: "1M" } });
  const body = new Uint8Array(2 * 2 ** 20);
  for (const [method, path] of [
    ["PUT", "/assets/big.zip"],
    ["POST", "/upload"],
  ]) {
    const wrong = await fetch(`${server.url}${path}`, { method, headers: { authorization: "Bearer wrong-token-xxxxxxxxxx" }, body });
    t.equal(wrong.status, 401, `${method} ${path}: a wrong token is 401 even when the body is too large`);
    t.same(await wrong.json(), { detail: "Invalid authentication token" });
    const tooLarge = await fetch(`${server.url}${path}`, { method, headers: server.auth, body });
    t.equal(tooLarge.status, 413, `${method} ${path}: with the right token, 413`);
    t.match(await tooLarge.json(), { detail: /larger than MAX_UPLOAD_SIZE/ });
  }
});
