// Starting and stopping the real server process: graceful shutdown on SIGTERM
// and SIGINT, the SHUTDOWN_TIMEOUT bound, startup errors that name the bad
// setting, and the token generated when none is configured.

import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { eventually, openUpload, sha256, upload } from "./helpers/requests.js";
import { keptDir, onlyOn, runUntilExit, S3_BACKEND, serverFor, TOKEN, type RunningServer } from "./helpers/server.js";
import { directoryEntries, storedEntries, uploadsUnderWay } from "./helpers/stored.js";

// These are about the storage directory's own settings; test/store-s3.test.ts and config.test.ts cover the bucket's.
const directoryOnly = S3_BACKEND ? "about the storage directory's settings" : false;

/** The token a server generated and printed; it is logged just after the "listening" line. */
async function generatedToken(server: RunningServer): Promise<string> {
  await eventually(() => /generated one for this run: \S+\n/.test(server.output()));
  return /generated one for this run: (\S+)/.exec(server.output())![1];
}

t.test("SIGTERM lets an in-flight upload finish, then exits 0", async (t) => {
  if (!onlyOn(t, ["node", "bun"], "Deno's server.shutdown() cuts the body of a request in flight")) return;
  const server = await serverFor(t, { storage: await keptDir(t) });
  const bytes = randomBytes(400_000);
  const pending = openUpload(server, "slow.zip");
  await pending.send(bytes.subarray(0, 100_000));
  t.ok(await uploadsUnderWay(server.storage, 1), "the upload is under way");

  const exit = server.stop("SIGTERM");
  t.ok(await eventually(() => /SIGTERM: finishing open requests/.test(server.output())), "the server is shutting down");
  await t.rejects(fetch(`${server.url}/health`), "no new connections are accepted");

  await pending.send(bytes.subarray(100_000));
  const res = await pending.finish();
  t.equal(res.status, 200, res.body);
  t.equal(JSON.parse(res.body).sha256, sha256(bytes));
  t.equal(await exit, 0);
  t.same(await storedEntries(server.storage), ["slow.zip", "slow.zip.sha256"]);
});

t.test("SIGTERM lets an in-flight download finish", async (t) => {
  const server = await serverFor(t);
  const bytes = randomBytes(20 * 1024 * 1024);
  t.equal((await upload(server, "big.zip", bytes)).status, 200);
  const res = await fetch(`${server.url}/assets/big.zip`);
  const reader = res.body!.getReader();
  const first = await reader.read();
  const exit = server.stop("SIGTERM");
  const chunks = [Buffer.from(first.value!)];
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(Buffer.from(r.value));
  t.ok(Buffer.concat(chunks).equals(bytes), "every byte arrives");
  t.equal(await exit, 0);
});

t.test("with a tiny SHUTDOWN_TIMEOUT a stalled upload is cut off, leaving nothing; exit 0", async (t) => {
  if (!onlyOn(t, ["node", "bun"], "Deno's server.shutdown() cuts the body of a request in flight")) return;
  const storage = await keptDir(t);
  const server = await serverFor(t, { storage, env: { SHUTDOWN_TIMEOUT: "0.5" } });
  const pending = openUpload(server, "stalled.zip");
  await pending.send(randomBytes(100_000));
  t.ok(await uploadsUnderWay(storage, 1), "the upload is under way");
  // ...and then the client sends nothing more.
  t.equal(await server.stop("SIGTERM"), 0);
  t.match(server.output(), /shutdown timeout reached/);
  t.same(await storedEntries(storage), [], "no temp file, no package");
  await pending.response.then(
    (r) => t.not(r.status, 200, "the upload did not succeed"),
    () => t.pass("the connection was closed"),
  );
});

t.test("SIGINT also exits 0", async (t) => {
  const server = await serverFor(t);
  t.equal(await server.stop("SIGINT"), 0);
  t.match(server.output(), /SIGINT: finishing open requests/);
  t.match(server.output(), /stopped/);
});

t.test("a bad setting stops startup with exit code 1 and one line naming the key and value", { skip: directoryOnly }, async (t) => {
  const dir = await keptDir(t);
  await writeFile(join(dir, "bad.yaml"), "port: [8000\n");
  await writeFile(join(dir, "unknown.yaml"), "colour: blue\n");
  await writeFile(join(dir, "a-file"), "not a directory");
  await writeFile(join(dir, "empty-token"), "\n");

  const cases: [string, Record<string, string>, string][] = [
    ["a port that is not a number", { PORT: "abc" }, 'PORT="abc"'],
    ["a negative MAX_PACKAGES", { MAX_PACKAGES: "-1" }, 'MAX_PACKAGES="-1"'],
    ["a bad MAX_UPLOAD_SIZE", { MAX_UPLOAD_SIZE: "huge" }, 'MAX_UPLOAD_SIZE="huge"'],
    ["malformed YAML", { CONFIG_PATH: join(dir, "bad.yaml") }, `CONFIG_PATH="${join(dir, "bad.yaml")}": the file is not valid YAML`],
    ["an unknown YAML key", { CONFIG_PATH: join(dir, "unknown.yaml") }, 'colour="blue": unknown key'],
    ["a config file that is not there", { CONFIG_PATH: join(dir, "missing.yaml") }, `CONFIG_PATH="${join(dir, "missing.yaml")}": cannot read the config file`],
    ["a storage path under a regular file", { STORAGE_PATH: join(dir, "a-file", "data") }, `STORAGE_PATH="${join(dir, "a-file", "data")}": the storage directory is not writable`],
    ["an empty token file", { AUTH_TOKEN: "", AUTH_TOKEN_FILE: join(dir, "empty-token") }, `AUTH_TOKEN_FILE="${join(dir, "empty-token")}": the token file is empty`],
    ["REQUIRE_AUTH_TOKEN without a token", { AUTH_TOKEN: "", REQUIRE_AUTH_TOKEN: "true" }, 'AUTH_TOKEN="": no token is configured'],
  ];
  for (const [what, env, line] of cases) {
    const { code, output } = await runUntilExit(env);
    t.equal(code, 1, `${what}: exit code 1`);
    const lines = output.trim().split("\n");
    t.equal(lines.length, 1, `${what}: one line`);
    t.match(lines[0], `release-server: invalid configuration: ${line}`, what);
  }
});

t.test("a port already in use stops startup with one line naming it", async (t) => {
  const server = await serverFor(t);
  const port = new URL(server.url).port;
  const { code, output } = await runUntilExit({ PORT: port });
  t.equal(code, 1);
  t.equal(output.trim().split("\n").length, 1, output);
  t.match(output, `release-server: cannot listen: PORT=${port} HOST="127.0.0.1": the address is already in use (EADDRINUSE)`);
});

t.test("with no token configured, one is generated, printed once, and works", async (t) => {
  const server = await serverFor(t, { env: { AUTH_TOKEN: "" } });
  const token = await generatedToken(server);
  t.equal(server.output().split(token).length - 1, 1, "printed once");
  t.ok(token.length >= 32, "long enough not to be guessed");
  t.equal((await upload(server, "a.zip", "a", "", { authorization: `Bearer ${TOKEN}` })).status, 401);
  t.equal((await upload(server, "a.zip", "a", "", { authorization: `Bearer ${token}` })).status, 200);

  const other = await serverFor(t, { env: { AUTH_TOKEN: "" } });
  t.not(await generatedToken(other), token, "a different token each run");
  t.notMatch(other.output().replace(/generated one for this run: \S+/, ""), /[A-Za-z0-9_-]{32}/, "and nowhere else in the output");
});

t.test("with no environment at all, the defaults just work: ./data and a generated token", { skip: directoryOnly }, async (t) => {
  const cwd = await keptDir(t);
  const server = await serverFor(t, { cwd, env: { STORAGE_PATH: "", AUTH_TOKEN: "" } });
  const token = await generatedToken(server);
  t.equal((await upload(server, "first.zip", "hello", "", { authorization: `Bearer ${token}` })).status, 200);
  t.same(await directoryEntries(join(cwd, "data")), ["first.zip", "first.zip.sha256"], "stored under ./data");
});

t.test("a YAML config file is read, and the environment beats it", { skip: directoryOnly }, async (t) => {
  const cwd = await keptDir(t);
  await mkdir(join(cwd, "yaml-data"));
  await writeFile(join(cwd, "config.yaml"), `storage_path: ${join(cwd, "yaml-data")}\nmax_packages: 1\nauth_token: yaml-token\n`);
  // CONFIG_PATH unset: the default config.yaml in the working directory.
  const server = await serverFor(t, { cwd, env: { CONFIG_PATH: "", STORAGE_PATH: "", AUTH_TOKEN: "", MAX_PACKAGES: "2" } });
  const auth = { authorization: "Bearer yaml-token" };
  for (const name of ["a.zip", "b.zip", "c.zip"]) t.equal((await upload(server, name, name, "", auth)).status, 200);
  t.equal((await directoryEntries(join(cwd, "yaml-data"))).filter((n) => !n.endsWith(".sha256")).length, 2, "MAX_PACKAGES from the environment");
});
