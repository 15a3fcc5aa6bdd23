// scripts/upload.sh and scripts/delete.sh, run for real against the running
// server: every option, every error path and its exit code, and the token
// never printed.

import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import t from "tap";
import { ROOT, startServer, TOKEN } from "./helpers/server.js";

const UPLOAD = join(ROOT, "scripts", "upload.sh");
const DELETE = join(ROOT, "scripts", "delete.sh");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(script: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  const base = { ...process.env, RELEASE_SERVER_URL: undefined, RELEASE_SERVER_TOKEN: undefined };
  return new Promise((resolve) => {
    execFile(script, args, { env: { ...base, ...env } as NodeJS.ProcessEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? -1) : 0;
      resolve({ code: typeof code === "number" ? code : -1, stdout, stderr });
    });
  });
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const server = await startServer();
t.teardown(() => server.stop());

const env = { RELEASE_SERVER_URL: server.url, RELEASE_SERVER_TOKEN: TOKEN };
const files = join(server.storage, "..", `rs-files-${process.pid}`);
await mkdir(files, { recursive: true });

async function file(name: string, bytes: Uint8Array = randomBytes(50_000)) {
  const path = join(files, name);
  await writeFile(path, bytes);
  return { path, bytes, sha: sha256(bytes) };
}

async function listed(): Promise<Record<string, string>> {
  const res = await fetch(`${server.url}/packages`).catch((err: Error) => {
    throw new Error(`${err.message}; server exit ${server.proc.exitCode ?? server.proc.signalCode}:\n${server.output()}`);
  });
  const list = (await res.json()) as { name: string; sha256: string }[];
  return Object.fromEntries(list.map((p) => [p.name, p.sha256]));
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Every run checks that the token stays out of the script's output. */
function noToken(t: Pick<typeof import("tap").default, "notOk">, r: Result) {
  t.notOk(r.stdout.includes(TOKEN) || r.stderr.includes(TOKEN), "the token is never printed");
}

t.test("upload.sh", async (t) => {
  t.test("--help documents the options and exit codes", async (t) => {
    const r = await sh(UPLOAD, ["--help"]);
    t.equal(r.code, 0);
    for (const s of ["-u, --url", "-t, --token", "-f, --force", "RELEASE_SERVER_URL", "RELEASE_SERVER_TOKEN", "checksum mismatch", "server unreachable"]) {
      t.match(r.stdout, s);
    }
  });

  t.test("usage errors exit 2", async (t) => {
    t.equal((await sh(UPLOAD, [], env)).code, 2, "no file");
    const r = await sh(UPLOAD, ["--bogus", "x"], env);
    t.equal(r.code, 2);
    t.match(r.stderr, "unknown option --bogus");
    t.equal((await sh(UPLOAD, ["-u"], env)).code, 2, "option without its value");
  });

  t.test("uploads several files, verified by sha256, and reports the server's digest", async (t) => {
    const a = await file("multi-a-v1.zip");
    const b = await file("multi-b-v1.tar.gz");
    const r = await sh(UPLOAD, [a.path, b.path], env);
    noToken(t, r);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, `Uploaded ${a.path}: server sha256 ${a.sha}`);
    t.match(r.stdout, `Uploaded ${b.path}: server sha256 ${b.sha}`);
    t.equal(r.stderr, "", "no progress bar when stderr is not a terminal");
    t.match(await listed(), { "multi-a-v1.zip": a.sha, "multi-b-v1.tar.gz": b.sha });
  });

  t.test("-u and -t override the environment; a trailing slash is fine", async (t) => {
    const f = await file("options-v1.zip");
    const r = await sh(UPLOAD, ["-u", `${server.url}/`, "-t", TOKEN, f.path], { RELEASE_SERVER_URL: "http://127.0.0.1:9", RELEASE_SERVER_TOKEN: "wrong" });
    noToken(t, r);
    t.equal(r.code, 0, r.stderr);
    t.equal((await listed())["options-v1.zip"], f.sha);
  });

  t.test("names with commas, semicolons and spaces arrive unchanged", async (t) => {
    const f = await file(`odd,name;v1 (x).zip`);
    const r = await sh(UPLOAD, [f.path], env);
    t.equal(r.code, 0, r.stderr);
    t.equal((await listed())[`odd,name;v1 (x).zip`], f.sha);
  });

  t.test("a missing file exits 3 before anything is uploaded", async (t) => {
    const ok = await file("before-missing-v1.zip");
    const r = await sh(UPLOAD, [ok.path, join(files, "nope.zip")], env);
    t.equal(r.code, 3);
    t.match(r.stderr, "nope.zip: no such readable file; nothing was uploaded");
    t.notOk("before-missing-v1.zip" in (await listed()));
  });

  t.test("no token exits 4", async (t) => {
    const f = await file("no-token-v1.zip");
    const r = await sh(UPLOAD, [f.path], { RELEASE_SERVER_URL: server.url });
    t.equal(r.code, 4);
    t.match(r.stderr, "no token: set RELEASE_SERVER_TOKEN or pass --token");
  });

  t.test("a wrong token exits 5 and is not printed", async (t) => {
    const f = await file("bad-token-v1.zip");
    const wrong = "wrong-token-abcdef";
    const r = await sh(UPLOAD, [f.path], { ...env, RELEASE_SERVER_TOKEN: wrong });
    t.equal(r.code, 5);
    t.match(r.stderr, "rejected the token (401)");
    t.notMatch(r.stdout + r.stderr, wrong);
  });

  t.test("an existing package exits 6; --force replaces it", async (t) => {
    const first = await file("conflict-v1.zip");
    t.equal((await sh(UPLOAD, [first.path], env)).code, 0);
    const second = await file("conflict-v1.zip");
    const r = await sh(UPLOAD, [second.path], env);
    t.equal(r.code, 6);
    t.match(r.stderr, "already exists");
    t.match(r.stderr, "--force");
    t.equal((await listed())["conflict-v1.zip"], first.sha, "the first version is intact");
    const forced = await sh(UPLOAD, ["-f", second.path], env);
    noToken(t, forced);
    t.equal(forced.code, 0, forced.stderr);
    t.equal((await listed())["conflict-v1.zip"], second.sha);
  });

  t.test("a checksum mismatch exits 7 and stores nothing", async (t) => {
    // The sha256 the script sends comes from sha256sum on PATH; a stand-in that
    // lies plays a file corrupted between hashing and sending.
    const bin = join(files, "lying-bin");
    await mkdir(bin, { recursive: true });
    const wrong = "0".repeat(64);
    await writeFile(join(bin, "sha256sum"), `#!/bin/sh\necho "${wrong}  $2"\n`);
    await chmod(join(bin, "sha256sum"), 0o755);
    const f = await file("mismatch-v1.zip");
    const r = await sh(UPLOAD, [f.path], { ...env, PATH: `${bin}:${process.env.PATH}` });
    t.equal(r.code, 7);
    t.match(r.stderr, "checksum mismatch");
    t.match(r.stderr, wrong);
    t.match(r.stderr, f.sha, "the message names both digests");
    t.notOk("mismatch-v1.zip" in (await listed()));
  });

  t.test("an unreachable server exits 8", async (t) => {
    const f = await file("unreachable-v1.zip");
    const r = await sh(UPLOAD, [f.path], { ...env, RELEASE_SERVER_URL: `http://127.0.0.1:${await closedPort()}` });
    t.equal(r.code, 8);
    t.match(r.stderr, "cannot reach http://127.0.0.1:");
  });

  t.test("another refusal exits 9 with the server's message", async (t) => {
    const empty = await file("empty-v1.zip", new Uint8Array(0));
    const r = await sh(UPLOAD, [empty.path], env);
    t.equal(r.code, 9);
    t.match(r.stderr, "(400)");
    t.match(r.stderr, "empty");
  });

  t.test("too large (413) exits 9 with the server's limit", async (t) => {
    const small = await startServer({ env: { MAX_UPLOAD_SIZE: "1K" } });
    t.teardown(() => small.stop());
    const f = await file("too-big-v1.zip", randomBytes(3_000_000));
    const r = await sh(UPLOAD, [f.path], { ...env, RELEASE_SERVER_URL: small.url });
    t.equal(r.code, 9);
    t.match(r.stderr, "413: the upload is larger than MAX_UPLOAD_SIZE");
  });

  t.test("a server that stores other bytes than were sent (an older server ignoring sha256) exits 7", async (t) => {
    // A stand-in for a server that does not verify: it answers 200 with its own digest.
    const stored = "f".repeat(64);
    const fake = createHttpServer((req, res) => {
      req.resume();
      req.on("end", () => res.setHeader("content-type", "application/json").end(JSON.stringify({ name: "x.zip", size: 1, created_at: "2024-01-01T00:00:00Z", sha256: stored })));
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    t.teardown(() => new Promise((r) => fake.close(r)));
    const f = await file("old-server-v1.zip");
    const r = await sh(UPLOAD, ["-u", `http://127.0.0.1:${(fake.address() as { port: number }).port}`, f.path], env);
    t.equal(r.code, 7);
    t.match(r.stderr, `checksum mismatch: sent sha256 ${f.sha}, the server stored ${stored}`);
  });

  t.test("a server error that is not JSON is shown as it came", async (t) => {
    const fake = createHttpServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(502).end("Bad Gateway from the proxy"));
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    t.teardown(() => new Promise((r) => fake.close(r)));
    const f = await file("proxy-v1.zip");
    const r = await sh(UPLOAD, ["-u", `http://127.0.0.1:${(fake.address() as { port: number }).port}`, f.path], env);
    t.equal(r.code, 9);
    t.match(r.stderr, "the server answered 502: Bad Gateway from the proxy");
  });

  t.test("on a terminal, curl's progress bar is shown", async (t) => {
    const f = await file("tty-v1.zip", randomBytes(2_000_000));
    // script(1) runs the upload under a pseudo-terminal.
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const r = await sh("script", ["-qec", `${quote(UPLOAD)} ${quote(f.path)}`, "/dev/null"], env);
    t.equal(r.code, 0, r.stdout);
    t.match(r.stdout, /#+\s+100\.0%/, "progress bar");
    noToken(t, r);
  });
});

t.test("delete.sh", async (t) => {
  const upload = async (name: string) => {
    const f = await file(name);
    t.equal((await sh(UPLOAD, [f.path], env)).code, 0);
  };

  t.test("--help documents the options and exit codes", async (t) => {
    const r = await sh(DELETE, ["-h"]);
    t.equal(r.code, 0);
    for (const s of ["-u, --url", "-t, --token", "-f, --force", "RELEASE_SERVER_URL", "RELEASE_SERVER_TOKEN", "server unreachable"]) t.match(r.stdout, s);
  });

  t.test("usage errors exit 2", async (t) => {
    t.equal((await sh(DELETE, [], env)).code, 2);
    t.equal((await sh(DELETE, ["-x", "a"], env)).code, 2);
  });

  t.test("deletes several packages, names percent-encoded", async (t) => {
    await upload("del-a-v1.zip");
    await upload("del b ü+1%.zip");
    const r = await sh(DELETE, ["del-a-v1.zip", "del b ü+1%.zip"], env);
    noToken(t, r);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, "Deleted del-a-v1.zip");
    const now = await listed();
    t.notOk("del-a-v1.zip" in now);
    t.notOk("del b ü+1%.zip" in now);
  });

  t.test("a missing package exits 3; --force ignores it", async (t) => {
    const r = await sh(DELETE, ["never-there.zip"], env);
    t.equal(r.code, 3);
    t.match(r.stderr, "never-there.zip: no such package");
    const forced = await sh(DELETE, ["--force", "never-there.zip"], env);
    t.equal(forced.code, 0);
  });

  t.test("no token exits 4, a wrong one 5", async (t) => {
    await upload("del-auth-v1.zip");
    t.equal((await sh(DELETE, ["del-auth-v1.zip"], { RELEASE_SERVER_URL: server.url })).code, 4);
    const r = await sh(DELETE, ["-t", "nope-nope", "del-auth-v1.zip"], { RELEASE_SERVER_URL: server.url });
    t.equal(r.code, 5);
    t.notMatch(r.stderr, "nope-nope");
    t.ok("del-auth-v1.zip" in (await listed()), "still there");
  });

  t.test("an unreachable server exits 8", async (t) => {
    const r = await sh(DELETE, ["-u", `http://127.0.0.1:${await closedPort()}`, "x.zip"], env);
    t.equal(r.code, 8);
  });

  t.test("another refusal exits 9", async (t) => {
    const r = await sh(DELETE, [".hidden"], env);
    t.equal(r.code, 9);
    t.match(r.stderr, "400");
  });
});

t.test("the shell scripts are shellcheck clean", async (t) => {
  const r = await sh("shellcheck", [UPLOAD, DELETE, join(ROOT, ".ci", "run")]);
  t.equal(r.code, 0, r.stdout + r.stderr);
});
