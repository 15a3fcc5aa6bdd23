// The object-storage backend against a real S3-compatible server (Swift's
// s3api, ../shared/s3/): the store conformance suite unchanged, then what
// only a bucket has: the layout other tools see, multipart uploads, the
// startup sweep, the index cache, redirects, namespaces and startup errors.

import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import t, { type Test } from "tap";
import { namespacePrefix } from "../src/store/index.js";
import type { S3Client } from "../src/store/s3/client.js";
import { cuttableProxy } from "./helpers/http.js";
import { eventually } from "./helpers/requests.js";
import { keysUnder, s3Env, testPrefix } from "./helpers/object-storage.js";
import { runUntilExit, serverFor } from "./helpers/server.js";

const run = promisify(execFile);
import { sha, storeConformance } from "./helpers/store-conformance.js";

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const env = await s3Env();
if (typeof env === "string") {
  t.comment(`skipped: no S3 server: ${env}`);
  t.pass("skipped");
} else {
  const { client } = env;
  const { S3Store } = await import("../src/store/s3/s3-store.js");
  const REFRESH_MS = 200;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function openS3(t: Test, prefix: string, extra: Partial<Parameters<typeof S3Store.open>[0]> = {}) {
    const store = await S3Store.open({ client, prefix, refreshIntervalMs: REFRESH_MS, ...extra });
    t.teardown(() => store.close());
    return store;
  }

  storeConformance(t, async (t) => {
    const prefix = testPrefix(t, client);
    return {
      store: await openS3(t, prefix),
      // As another tool would: a plain PUT or DELETE, then the refresh interval.
      putBehind: async (name, bytes) => {
        await client.put(prefix + name, bytes);
        await sleep(REFRESH_MS + 50);
      },
      removeBehind: async (name) => {
        await client.delete(prefix + name);
        await sleep(REFRESH_MS + 50);
      },
      reopen: () => openS3(t, prefix),
    };
  });

  t.test("a missing bucket, wrong credentials or an unreachable endpoint stop startup with one line", async (t) => {
    const base = { ...env.env, STORAGE_BACKEND: "s3" };
    for (const [what, extra, pattern] of [
      ["missing bucket", { S3_BUCKET: "no-such-bucket" }, /bucket "no-such-bucket" does not exist/],
      ["wrong secret", { S3_SECRET_ACCESS_KEY: "wrong" }, /refused the credentials/],
      ["unreachable endpoint", { S3_ENDPOINT: "http://127.0.0.1:1" }, /cannot be reached/],
    ] as const) {
      const { code, output } = await runUntilExit({ ...base, ...extra });
      t.equal(code, 1, `${what}: exit code 1`);
      const lines = output.trim().split("\n");
      t.equal(lines.length, 1, `${what}: one line`);
      t.match(lines[0], pattern, what);
    }
  });

  t.test("S3_REDIRECT_DOWNLOADS: a 302 to a short-lived presigned URL, with our validators and digest", async (t) => {
    const prefix = testPrefix(t, client);
    const server = await serverFor(t, { env: { ...env.env, STORAGE_BACKEND: "s3", S3_PREFIX: prefix, S3_REDIRECT_DOWNLOADS: "true" } });
    const bytes = randomBytes(300_000);
    t.equal((await fetch(`${server.url}/assets/r.zip`, { method: "PUT", headers: server.auth, body: bytes })).status, 201);
    const hex = createHash("sha256").update(bytes).digest("hex");
    const res = await fetch(`${server.url}/assets/r.zip`, { redirect: "manual" });
    t.equal(res.status, 302);
    t.equal(res.headers.get("etag"), `"${hex}"`);
    t.equal(res.headers.get("repr-digest"), `sha-256=:${Buffer.from(hex, "hex").toString("base64")}:`);
    t.match(res.headers.get("location"), /X-Amz-Expires=300.*X-Amz-Signature=|X-Amz-Signature=.*X-Amz-Expires=300/, "presigned for 5 minutes");
    // Followed by hand: what the object storage answers is not ours to check against openapi.yaml.
    const followed = await fetch(res.headers.get("location")!);
    t.ok(Buffer.from(await followed.arrayBuffer()).equals(bytes), "following it gives the bytes");
    const rangedRedirect = await fetch(`${server.url}/assets/r.zip`, { headers: { range: "bytes=10-19" }, redirect: "manual" });
    t.equal(rangedRedirect.status, 302, "a ranged GET is redirected too");
    const ranged = await fetch(rangedRedirect.headers.get("location")!, { headers: { range: "bytes=10-19" } });
    t.equal(ranged.status, 206, "and the range is honoured by the object storage");
    t.ok(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20)));
    const head = await fetch(`${server.url}/assets/r.zip`, { method: "HEAD", redirect: "manual" });
    t.equal(head.status, 200, "HEAD is answered by the server itself");
    t.equal((await fetch(`${server.url}/assets/r.zip`, { headers: { "if-none-match": `"${hex}"` }, redirect: "manual" })).status, 304, "a conditional GET still gets 304 from us");
    const curl = await run("curl", ["-sSfL", "-o", "-", `${server.url}/assets/r.zip`], { encoding: "buffer", maxBuffer: 1 << 22 });
    t.ok(Buffer.from(curl.stdout).equals(bytes), "curl -L follows it");
  });

  t.test("the layout other tools see, the sweep of leftovers, namespaces", async (t) => {
    const prefix = testPrefix(t, client);
    const store = await openS3(t, prefix);
    await store.commit(await store.stage((async function* () { yield Buffer.from("hello"); })(), 100), "hw.zip", { overwrite: false });
    t.same((await keysUnder(client, prefix)).filter((k) => !k.startsWith(".cache/")), ["hw.zip", "hw.zip.sha256"], "the package and its sidecar, as in a directory");
    t.equal(await client.getText(prefix + "hw.zip.sha256"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    t.equal((await client.head(prefix + "hw.zip"))!.metadata.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    await client.put(prefix + ".staging/dead-replica/x", "half");
    const id = await client.createMultipart(prefix + ".staging/dead-replica/y");
    t.ok(id);
    await (await openS3(t, prefix)).close();
    t.same((await keysUnder(client, prefix)).filter((k) => k.startsWith(".staging/")), [], "leftover staged objects are removed at startup");
    t.same(await client.listMultipartUploads(prefix), [], "and multipart uploads aborted");
    t.equal(namespacePrefix("p/", []), "p/");
    t.equal(namespacePrefix("p/", ["octo", "tools"]), "p/repos/octo/tools/");
    const other = await openS3(t, namespacePrefix(prefix, ["octo", "tools"]));
    t.same(await other.list(), [], "another repository does not see the default one's packages");
    t.same((await store.list()).map((p) => p.name), ["hw.zip"]);
  });

  t.test("uploads around the part size arrive whole, in as many parts as they need, with chunks that straddle parts", async (t) => {
    const { MIN_PART_SIZE, uploadStream } = await import("../src/store/s3/upload.js");
    const prefix = testPrefix(t, client);
    const P = MIN_PART_SIZE;
    for (const size of [0, 1, P - 1, P, P + 1, 2 * P + 3]) {
      const bytes = randomBytes(size);
      // Chunks of a size that shares nothing with the part size, so most parts begin and end inside one.
      const chunks = async function* () {
        for (let at = 0; at < size; at += 3 * 2 ** 20 + 7) yield bytes.subarray(at, Math.min(size, at + 3 * 2 ** 20 + 7));
      };
      const key = `${prefix}part-${size}.bin`;
      const uploaded = await uploadStream(client, key, chunks(), 4 * P);
      t.same(uploaded, { size, sha256: sha(bytes) }, `${size} bytes: size and digest`);
      const stored = Buffer.from(await (await client.get(key))!.arrayBuffer());
      t.equal(sha(stored), sha(bytes), `${size} bytes: the object holds them`);
    }
    const unbounded = await uploadStream(client, `${prefix}unbounded.bin`, (async function* () { yield Buffer.from("small"); })(), Number.MAX_SAFE_INTEGER);
    t.equal(unbounded.size, 5, "a limit far past any part size still uploads (its parts are bounded)");
    t.same(await client.listMultipartUploads(prefix), [], "no multipart upload is left open");
  });

  t.test("the object store cut off mid-upload: the upload fails as unavailable, nothing is listed, and uploads work once it is back", async (t) => {
    const { S3Client } = await import("../src/store/s3/client.js");
    const { MIN_PART_SIZE } = await import("../src/store/s3/upload.js");
    const proxy = await cuttableProxy(client.settings.endpoint);
    t.teardown(() => proxy.close());
    const prefix = testPrefix(t, client);
    const store = await openS3(t, prefix, { client: new S3Client({ ...client.settings, endpoint: proxy.url }) });
    // Past the first part, then the network fails while the rest is still coming.
    const source = async function* () {
      yield randomBytes(MIN_PART_SIZE + 1024);
      proxy.cut();
      for (let i = 0; i < 3; i++) yield randomBytes(MIN_PART_SIZE / 2);
    };
    const failed = await store.stage(source(), 1 << 30).then(
      () => null,
      (err: unknown) => err,
    );
    t.match(failed, { kind: "unavailable", message: /object storage cannot be reached/ }, "the upload fails as the store being unavailable (503), saying why");
    proxy.restore();
    t.same((await store.list()).map((e) => e.name), [], "nothing is listed");
    const bytes = randomBytes(MIN_PART_SIZE + 5);
    const { entry } = await store.commit(await store.stage((async function* () { yield bytes; })(), 1 << 30), "after.zip", { overwrite: false });
    t.equal(entry.sha256, sha(bytes), "once it is back, an upload of more than one part goes through the same client");
    // The abort sent while the network was down never arrived: a start sweeps what it left (in the
    // background when, as here, it starts from a saved index).
    await openS3(t, prefix);
    t.ok(await eventually(async () => (await client.listMultipartUploads(prefix)).length === 0), "a restart leaves no multipart upload open");
    t.same((await keysUnder(client, prefix)).filter((k) => !k.startsWith(".")), ["after.zip", "after.zip.sha256"], "and only the package that was uploaded");
  });

  t.test("a listing cut into slices at the last listing's names sees exactly what one listing sees", async (t) => {
    const prefix = testPrefix(t, client);
    // Names whose UTF-8 order differs from JavaScript's string order, and more than a page of keys.
    const names = [...Array.from({ length: 700 }, (_, i) => `p-${String(i).padStart(4, "0")}.zip`), "z.zip", "é.zip", "\u{1F600}.zip", "\uFF41.zip", "A.zip"];
    await inParallel(names, 16, (name) => client.put(prefix + name, name, { "x-amz-meta-sha256": sha(name), "x-amz-meta-created": new Date().toISOString() }));
    const store = await openS3(t, prefix, { listSliceMin: 100, refreshIntervalMs: 3_600_000 });
    t.same((await store.list()).map((p) => p.name).sort(), [...names].sort(), "the first listing, in one piece");
    // Removed and added behind the store's back, at and between the slices' edges.
    const removed = names.filter((_, i) => i % 7 === 0);
    const added = ["p-0000a.zip", "p-0350a.zip", "zz.zip", "0.zip"];
    await inParallel(removed, 16, (name) => client.delete(prefix + name));
    await inParallel(added, 16, (name) => client.put(prefix + name, name, { "x-amz-meta-sha256": sha(name), "x-amz-meta-created": new Date().toISOString() }));
    const whole: string[] = [];
    for await (const o of client.list(prefix, "/")) whole.push(o.key.slice(prefix.length));
    // The restart's listings wait until its health was asked (the bucket can list 700 keys before that).
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: S3Client = Object.create(client, {
      list: {
        value: async function* (...args: Parameters<S3Client["list"]>) {
          if (args[1] === "/") await released; // the packages' listing, not the store's own marks and staged uploads
          yield* client.list(...args);
        },
      },
    });
    const again = await openS3(t, prefix, { client: held, listSliceMin: 100, refreshIntervalMs: 3_600_000 });
    // A restart answers from the saved index at once and is not ready until a listing confirmed it.
    const first = await again.health();
    t.same([first.indexed, first.detail], [false, `confirming the ${names.length} packages of the saved index against a listing of the bucket`], "not ready while the saved index is confirmed");
    release();
    t.equal(await again.open(removed[1]), undefined, "an object removed since is never opened, confirmed or not");
    for (let i = 0; i < 200 && !(await again.health()).indexed; i++) await sleep(50);
    t.ok((await again.health()).indexed, "ready once the listing is done");
    t.same((await again.list()).map((p) => p.name).sort(), whole.filter((k) => !k.startsWith(".")).sort(), "a restart lists in four slices and sees the same");
    t.equal((await again.list()).length, names.length - removed.length + added.length);
    const slice: string[] = [];
    for await (const o of client.list(prefix, "/", { after: prefix + "p-0100.zip", upTo: prefix + "p-0200.zip" })) slice.push(o.key.slice(prefix.length));
    t.same(slice, whole.filter((k) => k > "p-0100.zip" && k <= "p-0200.zip"), "a slice: the keys after `after`, up to and including `upTo`");
    t.equal(slice.at(-1), "p-0200.zip");
  });

  t.test("a store stopped without saving its index (SIGKILL) is restarted with its own last changes right", async (t) => {
    const prefix = testPrefix(t, client);
    const hour = { refreshIntervalMs: 3_600_000 };
    const put = async (store: Awaited<ReturnType<typeof openS3>>, name: string, body: string, overwrite = false) =>
      store.commit(await store.stage((async function* () { yield Buffer.from(body); })(), 1000), name, { overwrite });
    const first = await openS3(t, prefix, hour);
    await put(first, "a.zip", "a one");
    await put(first, "c.zip", "c");
    await first.close(); // saves the index
    const killed = await S3Store.open({ client, prefix, ...hour }); // never closed: its index is not saved again
    await put(killed, "a.zip", "a two", true);
    await put(killed, "b.zip", "b");
    await killed.remove("c.zip");
    const restarted = await openS3(t, prefix, hour);
    t.same((await restarted.list()).map((p) => [p.name, p.sha256]).sort(), [["a.zip", sha("a two")], ["b.zip", sha("b")]], "at once, from the saved index and the marks of changes");
  });
}
