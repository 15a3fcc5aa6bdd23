// The index (Storage) against a real temp directory: built from sidecars at
// open, hashing what has none, trusting no stale sidecar, cleaning temp files,
// seeing files changed by hand, committing and removing atomically.

import { createHash } from "node:crypto";
import { readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t, { type Test } from "tap";
import { ConflictError, Storage, TooLargeError } from "../src/storage.js";
import { tempDir } from "./helpers/server.js";

const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const FAKE = "ab".repeat(32); // a well-formed digest that is not the file's: proves the sidecar was trusted

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

/** A fresh storage directory holding `files`, opened once the files are written and `prepare` has run. */
async function storeWith(t: Test, files: Record<string, string> = {}, prepare: (dir: string) => Promise<void> = async () => {}) {
  const dir = await tempDir("rs-storage-");
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  await prepare(dir);
  const storage = await Storage.open(dir);
  t.teardown(() => storage.close());
  return { dir, storage };
}

/** Sets the modification time of `names` in `dir`. */
async function touch(dir: string, at: Date, ...names: string[]) {
  for (const name of names) await utimes(join(dir, name), at, at);
}

/** The error `promise` rejects with, so its class can be checked. */
const rejection = (promise: Promise<unknown>) => promise.then(() => null, (err: unknown) => err);

const names = async (storage: Storage) => (await storage.list()).map((p) => p.name);

t.test("open builds the index from sidecars without hashing", async (t) => {
  // The sidecar written a second after the file was complete, as it would be.
  const { storage } = await storeWith(t, { "a.zip": "aaa", "a.zip.sha256": FAKE }, async (dir) => {
    const { mtime } = await stat(join(dir, "a.zip"));
    await touch(dir, new Date(mtime.getTime() + 1000), "a.zip.sha256");
  });
  const entry = await storage.get("a.zip");
  t.match(entry, { name: "a.zip", size: 3, sha256: FAKE });
  t.type(entry!.createdAt, Date);
});

t.test("a file without a sidecar is hashed once and gets one: bare hex, no newline", async (t) => {
  const { dir, storage } = await storeWith(t, { "b.zip": "bbbb" });
  t.equal((await storage.get("b.zip"))!.sha256, sha("bbbb"));
  t.equal(await readFile(join(dir, "b.zip.sha256"), "utf8"), sha("bbbb"));
});

t.test("sidecars in the older version's format and in sha256sum format are read", async (t) => {
  const { storage } = await storeWith(t, {
    "old.zip": "old",
    "old.zip.sha256": sha("old"), // bare hex, no newline
    "sum.zip": "sum",
    "sum.zip.sha256": `${sha("sum").toUpperCase()}  sum.zip\n`,
  });
  t.equal((await storage.get("old.zip"))!.sha256, sha("old"));
  t.equal((await storage.get("sum.zip"))!.sha256, sha("sum"), "upper-case hex is normalised");
});

t.test("an unreadable sidecar is replaced by a fresh hash", async (t) => {
  const { dir, storage } = await storeWith(t, { "c.zip": "ccc", "c.zip.sha256": "not a digest" });
  t.equal((await storage.get("c.zip"))!.sha256, sha("ccc"));
  t.equal(await readFile(join(dir, "c.zip.sha256"), "utf8"), sha("ccc"));
});

t.test("a sidecar older than its file is stale and the file is re-hashed", async (t) => {
  const { dir, storage } = await storeWith(t, { "d.zip": "new bytes", "d.zip.sha256": FAKE }, (dir) => touch(dir, new Date(Date.now() - 60_000), "d.zip.sha256"));
  t.equal((await storage.get("d.zip"))!.sha256, sha("new bytes"));
  t.equal(await readFile(join(dir, "d.zip.sha256"), "utf8"), sha("new bytes"), "the sidecar is rewritten");
});

t.test("a sidecar from the same clock tick as its file is checked, not trusted", async (t) => {
  // File times are coarse: the file may have changed again within the tick its sidecar was written in.
  const { storage } = await storeWith(t, { "same.zip": "same tick", "same.zip.sha256": FAKE }, (dir) =>
    touch(dir, new Date(Date.now() - 60_000), "same.zip", "same.zip.sha256"),
  );
  t.equal((await storage.get("same.zip"))!.sha256, sha("same tick"));
});

t.test("leftover temp files are removed at open; other dot files and sidecars are not packages", async (t) => {
  const { dir, storage } = await storeWith(t, {
    ".tmp-abc123": "half an upload",
    ".tmp-": "",
    ".keep": "not a package",
    "e.zip": "e",
    "orphan.zip.sha256": FAKE,
  });
  const left = await readdir(dir);
  t.notOk(left.some((n) => n.startsWith(".tmp-")), "no temp files left");
  t.ok(left.includes(".keep"));
  t.same(await names(storage), ["e.zip"]);
});

t.test("list is newest first", async (t) => {
  const { dir, storage } = await storeWith(t, { "one.zip": "1", "two.zip": "2", "three.zip": "3" });
  const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
  await touch(dir, at(1), "one.zip");
  await touch(dir, at(3), "two.zip");
  await touch(dir, at(2), "three.zip");
  t.same(await names(storage), ["two.zip", "three.zip", "one.zip"]);
  t.same((await storage.list()).map((p) => p.createdAt.toISOString()), [at(3), at(2), at(1)].map((d) => d.toISOString()));
});

t.test("files added and removed by hand show up on the next list", async (t) => {
  const { dir, storage } = await storeWith(t, { "kept.zip": "k" });
  t.same(await names(storage), ["kept.zip"]);
  await writeFile(join(dir, "added.zip"), "added by hand");
  t.same((await storage.list()).map((p) => [p.name, p.sha256]).sort(), [
    ["added.zip", sha("added by hand")],
    ["kept.zip", sha("k")],
  ]);
  await rm(join(dir, "kept.zip"));
  t.same(await names(storage), ["added.zip"]);
  t.equal(await storage.get("kept.zip"), undefined);
});

t.test("a file rewritten in place by hand is hashed again", async (t) => {
  const { dir, storage } = await storeWith(t, { "f.zip": "version 1" });
  t.equal((await storage.get("f.zip"))!.sha256, sha("version 1"));
  // Same directory entry, so the directory's mtime does not change; the file's does.
  await writeFile(join(dir, "f.zip"), "version 2!");
  await touch(dir, new Date(Date.now() + 5_000), "f.zip");
  const opened = await storage.openPackage("f.zip");
  t.ok(opened, "openPackage notices the change and describes the file again");
  await opened!.handle.close();
  t.match(opened!.entry, { size: 10, sha256: sha("version 2!") });
  t.equal((await storage.get("f.zip"))!.sha256, sha("version 2!"));
});

t.test("openPackage gives a handle on the bytes; undefined when absent", async (t) => {
  const { storage } = await storeWith(t, { "g.zip": "gee" });
  const opened = await storage.openPackage("g.zip");
  t.ok(opened);
  t.equal((await opened!.handle.readFile("utf8")), "gee");
  await opened!.handle.close();
  t.equal(await storage.openPackage("nope.zip"), undefined);
});

t.test("openPackage of a file removed behind the index's back is undefined", async (t) => {
  const { dir, storage } = await storeWith(t, { "h.zip": "h" });
  t.ok(await storage.get("h.zip"));
  await rm(join(dir, "h.zip"));
  t.equal(await storage.openPackage("h.zip"), undefined);
});

t.test("receive + commit stores the bytes, the sidecar and the index entry", async (t) => {
  const { dir, storage } = await storeWith(t);
  const temp = await storage.receive(chunks("hello ", "world"), 100);
  t.match(temp, { size: 11, sha256: sha("hello world") });
  t.match(temp.path, /\/\.tmp-[0-9a-f]+$/);
  const { entry, replaced } = await storage.commit(temp, "hw.zip", false);
  t.equal(replaced, false);
  t.match(entry, { name: "hw.zip", size: 11, sha256: sha("hello world") });
  t.equal(entry.createdAt.getTime(), (await stat(join(dir, "hw.zip"))).mtime.getTime(), "created_at is the file's mtime");
  t.equal(await readFile(join(dir, "hw.zip"), "utf8"), "hello world");
  t.equal(await readFile(join(dir, "hw.zip.sha256"), "utf8"), sha("hello world"));
  t.same((await readdir(dir)).sort(), ["hw.zip", "hw.zip.sha256"], "no temp files left");
});

t.test("commit refuses an existing name unless overwriting, and removes the temp file", async (t) => {
  const { dir, storage } = await storeWith(t, { "x.zip": "old" });
  const temp = await storage.receive(chunks("new"), 100);
  t.type(await rejection(storage.commit(temp, "x.zip", false)), ConflictError);
  t.equal(await readFile(join(dir, "x.zip"), "utf8"), "old", "the old package is untouched");
  t.same((await readdir(dir)).sort(), ["x.zip", "x.zip.sha256"]);

  const again = await storage.receive(chunks("new"), 100);
  t.match(await storage.commit(again, "x.zip", true), { entry: { size: 3, sha256: sha("new") }, replaced: true });
  t.equal(await readFile(join(dir, "x.zip"), "utf8"), "new");
  t.equal(await readFile(join(dir, "x.zip.sha256"), "utf8"), sha("new"));
});

t.test("receive past the limit fails with TooLargeError and leaves nothing", async (t) => {
  const { dir, storage } = await storeWith(t);
  t.type(await rejection(storage.receive(chunks("12345", "67890"), 8)), TooLargeError);
  t.same(await readdir(dir), []);
});

t.test("a source that fails mid-way leaves nothing", async (t) => {
  const { dir, storage } = await storeWith(t);
  async function* broken(): AsyncIterable<Uint8Array> {
    yield Buffer.from("partial");
    throw new Error("client went away");
  }
  await t.rejects(storage.receive(broken(), 100), /client went away/);
  t.same(await readdir(dir), []);
});

t.test("discard removes a received upload", async (t) => {
  const { dir, storage } = await storeWith(t);
  await storage.discard(await storage.receive(chunks("x"), 10));
  t.same(await readdir(dir), []);
});

t.test("remove deletes the package and its sidecar; false when absent", async (t) => {
  const { dir, storage } = await storeWith(t, { "r.zip": "r", "s.zip": "s" });
  t.equal(await storage.remove("r.zip"), true);
  t.same((await readdir(dir)).sort(), ["s.zip", "s.zip.sha256"]);
  t.same(await names(storage), ["s.zip"]);
  t.equal(await storage.remove("r.zip"), false);
  t.equal(await storage.remove("never.zip"), false);
});

t.test("remove of an indexed package already deleted by hand still drops it and its sidecar", async (t) => {
  const { dir, storage } = await storeWith(t, { "gone.zip": "g" });
  t.ok(await storage.get("gone.zip"));
  await rm(join(dir, "gone.zip"));
  t.equal(await storage.remove("gone.zip"), false, "the next request already knows it is gone");
  t.same(await readdir(dir), [], "its sidecar is not left behind");
});
