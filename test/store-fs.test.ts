// The filesystem backend: the store conformance suite, then what only a
// directory has: sidecars in the older server's format, the stamp that says
// which bytes a sidecar describes, temp files, and entries it must skip.

import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t, { type Test } from "tap";
import { isStampedFor, stamp } from "../src/store/fs/files.js";
import { FsStore } from "../src/store/fs/fs-store.js";
import { keptDir } from "./helpers/server.js";
import { checkInvariant, put, readAll, rejection, sha, storeConformance } from "./helpers/store-conformance.js";

const FAKE = "ab".repeat(32); // a well-formed digest that is not the file's: shows whether a sidecar was trusted

async function* chunksOf(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

async function openFs(t: Test, dir: string, log?: (m: string) => void) {
  const store = await FsStore.open(dir, { log });
  t.teardown(() => store.close());
  return store;
}

storeConformance(t, async (t) => {
  const dir = await keptDir(t);
  return {
    store: await openFs(t, dir),
    putBehind: async (name, bytes) => {
      // As an operator would: a copy written beside, then moved into place.
      await writeFile(join(dir, ".copy"), bytes);
      await rename(join(dir, ".copy"), join(dir, name));
    },
    removeBehind: (name) => rm(join(dir, name)),
    reopen: () => openFs(t, dir),
  };
});

/** A directory holding `files`, opened once `prepare` has run. */
async function storeWith(t: Test, files: Record<string, string> = {}, prepare: (dir: string) => Promise<void> = async () => {}) {
  const dir = await keptDir(t);
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  await prepare(dir);
  const logged: string[] = [];
  const store = await openFs(t, dir, (m) => logged.push(m));
  return { dir, store, logged };
}

t.test("a package is stored beside its sidecar: bare hex, no newline, no temp files left", async (t) => {
  const { dir, store } = await storeWith(t);
  await put(store, "hw.zip", "hello world");
  t.equal(await readFile(join(dir, "hw.zip"), "utf8"), "hello world");
  t.equal(await readFile(join(dir, "hw.zip.sha256"), "utf8"), sha("hello world"));
  t.same((await readdir(dir)).sort(), ["hw.zip", "hw.zip.sha256"]);
  const { ctimeMs } = await stat(join(dir, "hw.zip"));
  t.ok(isStampedFor(await stat(join(dir, "hw.zip.sha256")), ctimeMs), "the sidecar is stamped for its package's ctime");
});

t.test("the store's own changes leave the index current: no request reads the directory because of them", async (t) => {
  const { dir, store } = await storeWith(t);
  // The watcher reports a change a moment after it is made: each check waits for those reports first.
  const settled = async () => {
    await new Promise((r) => setTimeout(r, 100));
    return store.current();
  };
  await store.list();
  t.ok(await settled(), "current after the first scan");
  const staged = await store.stage(chunksOf("some bytes"), 1 << 20);
  t.ok((await readdir(dir)).some((n) => n.startsWith(".tmp-")), "an upload is being received into a temp file");
  t.ok(await settled(), "and its temp file did not make the index stale");
  await store.commit(staged, "own.zip", { overwrite: false });
  t.ok(await settled(), "a commit leaves the index current");
  await store.saveDocument("notes.json", "{}");
  t.ok(await settled(), "so does a saved document");
  t.ok((await store.health()).writable);
  t.ok(await settled(), "and the health probe's temp file");
  await store.remove("own.zip");
  t.ok(await settled(), "and a removal");
  await writeFile(join(dir, "by-hand.zip"), "copied in");
  t.notOk(store.current(), "a file copied in by someone else is noticed");
  t.same((await store.list()).map((p) => p.name), ["by-hand.zip"]);
  await store.list(); // hashing it wrote its sidecar, one more change of the directory to read
  t.ok(await settled(), "and current again once read");
  await put(store, "own.zip", "again");
  await writeFile(join(dir, "own.zip"), "rewritten in place by someone else");
  t.notOk(await settled(), "a rewrite in place right after our own commit of that name is still noticed");
});

t.test("a stamped sidecar is trusted at open, without hashing", async (t) => {
  const dir = await keptDir(t);
  const first = await openFs(t, dir);
  await put(first, "a.zip", "aaa");
  await writeFile(join(dir, "a.zip.sha256"), FAKE); // content changed, stamp kept: proves the file is not read again
  t.notOk(isStampedFor(await stat(join(dir, "a.zip.sha256")), (await stat(join(dir, "a.zip"))).ctimeMs), "rewriting the sidecar unstamped it");
  await stamp(join(dir, "a.zip.sha256"), (await stat(join(dir, "a.zip"))).ctimeMs);
  t.equal((await (await openFs(t, dir)).get("a.zip"))!.sha256, FAKE);
});

t.test("the older server's volume loads: bare hex and sha256sum sidecars are checked once, then stamped", async (t) => {
  const { dir, store } = await storeWith(t, {
    "old.zip": "old",
    "old.zip.sha256": sha("old"),
    "sum.zip": "sum",
    "sum.zip.sha256": `${sha("sum").toUpperCase()}  sum.zip\n`,
    "lie.zip": "lie",
    "lie.zip.sha256": FAKE,
    "none.zip": "none",
  });
  t.same((await store.list()).map((p) => [p.name, p.sha256]).sort(), [
    ["lie.zip", sha("lie")],
    ["none.zip", sha("none")],
    ["old.zip", sha("old")],
    ["sum.zip", sha("sum")],
  ]);
  t.equal(await readFile(join(dir, "lie.zip.sha256"), "utf8"), sha("lie"), "a wrong sidecar is rewritten");
  t.equal(await readFile(join(dir, "none.zip.sha256"), "utf8"), sha("none"), "a missing one is written");
});

t.test("a package replaced by hand is hashed again, whatever its mtime and size (cp -p, touch -d)", async (t) => {
  const dir = await keptDir(t);
  const store = await openFs(t, dir);
  await put(store, "p.zip", "AAAA");
  const before = await stat(join(dir, "p.zip"));
  // Same size, older mtime, rewritten in place: what `cp -p` of another build does.
  await writeFile(join(dir, "p.zip"), "BBBB");
  await utimes(join(dir, "p.zip"), new Date(before.mtimeMs - 86_400_000), new Date(before.mtimeMs - 86_400_000));
  t.equal((await readAll(store, "p.zip"))!.toString(), "BBBB");
  t.equal((await store.get("p.zip"))!.sha256, sha("BBBB"), "seen by the running store");
  t.equal((await (await openFs(t, dir)).get("p.zip"))!.sha256, sha("BBBB"), "and after a restart");
  // The same mtime and size as before, too: `touch -d` back to the old time.
  await writeFile(join(dir, "p.zip"), "CCCC");
  await utimes(join(dir, "p.zip"), before.atime, before.mtime);
  const third = await openFs(t, dir);
  t.equal((await third.get("p.zip"))!.sha256, sha("CCCC"));
  execFileSync("cp", ["-p", join(dir, "p.zip.sha256"), join(dir, "q.zip.sha256")]);
  await checkInvariant(t, third);
});

t.test("a download of a package changed in place since it was indexed serves the new digest", async (t) => {
  const dir = await keptDir(t);
  const store = await openFs(t, dir);
  await put(store, "f.zip", "version 1");
  await store.close(); // no watcher: only the identity check at open can notice
  await writeFile(join(dir, "f.zip"), "version 2");
  const reader = (await store.open("f.zip"))!;
  await reader.close();
  t.match(reader.entry, { size: 9, sha256: sha("version 2") });
});

t.test("leftover temp files are removed at open; dot files, sidecars and odd entries are not packages", async (t) => {
  const { dir, store, logged } = await storeWith(t, { ".tmp-abc123": "half an upload", ".keep": "x", "e.zip": "e", "orphan.zip.sha256": FAKE, ["l".repeat(250)]: "too long for its sidecar" }, async (dir) => {
    await mkdir(join(dir, "a-directory.zip"));
    await symlink("/etc/passwd", join(dir, "link.zip"));
    execFileSync("mkfifo", [join(dir, "fifo.zip")]);
  });
  const left = await readdir(dir);
  t.notOk(left.some((n) => n.startsWith(".tmp-")), "no temp files left");
  t.ok(left.includes(".keep"));
  t.same((await store.list()).map((p) => p.name), ["e.zip"]);
  for (const name of ["a-directory.zip", "link.zip", "fifo.zip", "l".repeat(250)]) {
    t.ok(logged.some((m) => m.includes(JSON.stringify(name))), `${name.slice(0, 20)}: skipped and logged`);
  }
  const count = logged.length;
  await writeFile(join(dir, "f.zip"), "f");
  await store.list();
  t.equal(logged.length, count, "each is logged once, not at every rescan");
  t.equal(await store.remove("a-directory.zip"), false, "and never removed through the API");
});

t.test("a sidecar that cannot be written does not stop the store: the digest is kept in memory", async (t) => {
  const { dir, store, logged } = await storeWith(t, { "a.zip": "a" }, async (dir) => {
    await mkdir(join(dir, "a.zip.sha256")); // in the way of the sidecar
  });
  t.equal((await store.get("a.zip"))!.sha256, sha("a"));
  t.match(logged, [/could not write the checksum file of a\.zip/]);
  await rm(join(dir, "a.zip.sha256"), { recursive: true });
});

t.test("a store whose directory is missing says so", async (t) => {
  const dir = await keptDir(t);
  const store = await openFs(t, dir);
  await put(store, "a.zip", "a");
  await rm(dir, { recursive: true });
  await t.rejects(store.list(), { kind: "unavailable", message: /storage directory is missing/ });
  t.match(await rejection(store.stage((async function* () {})(), 10)), { kind: "unavailable" });
  t.match(await store.health(), { readable: false, writable: false, detail: /missing/ });
  await mkdir(dir);
  t.same(await store.list(), [], "a directory created anew is used");
  await put(store, "b.zip", "b");
  t.same((await store.list()).map((p) => p.name), ["b.zip"]);
});

t.test("documents are dot files, never packages, and keys are checked", async (t) => {
  const { dir, store } = await storeWith(t);
  await store.saveDocument("download-counts.json", "{}");
  t.ok((await readdir(dir)).includes(".download-counts.json"), "the older layout's file name");
  await t.rejects(store.saveDocument("../x.json", "{}"), /not a document key/);
  await t.rejects(store.loadDocument("tmp-x.json"), /not a document key/);
});
