// The store contract as behaviour: every backend runs this suite unchanged
// (test/store-fs.test.ts for the filesystem; the object-storage backend will
// run it too). A fixture gives a fresh, empty store and the two things only a
// backend knows how to do: change its medium behind the store's back, and open
// the same medium again, as a restart does.

import { createHash } from "node:crypto";
import type { Test } from "tap";
import type { PackageStore } from "../../src/store/index.js";
import { ConflictError, InvalidNameError, TooLargeError, UploadAbortedError } from "../../src/store/index.js";

export interface StoreFixture {
  store: PackageStore;
  /** Stores bytes under a name the way another tool would, without the store. */
  putBehind(name: string, bytes: Buffer): Promise<void>;
  removeBehind(name: string): Promise<void>;
  /** A second store on the same medium, as after a restart. */
  reopen(): Promise<PackageStore>;
}

export type FixtureFactory = (t: Test) => Promise<StoreFixture>;

export const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

export async function* chunks(...parts: (string | Buffer)[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The error a promise rejects with, so its class can be checked. */
export const rejection = (promise: Promise<unknown>) => promise.then(() => null, (err: unknown) => err);

export async function put(store: PackageStore, name: string, data: string | Buffer, overwrite = false) {
  return store.commit(await store.stage(chunks(data), 1 << 30), name, { overwrite });
}

export async function readAll(store: PackageStore, name: string, start?: number, end?: number): Promise<Buffer | undefined> {
  const reader = await store.open(name);
  if (!reader) return undefined;
  const parts: Uint8Array[] = [];
  try {
    for await (const c of reader.read(start ?? 0, end ?? reader.entry.size - 1)) parts.push(c);
  } finally {
    await reader.close();
  }
  return Buffer.concat(parts);
}

const names = async (store: PackageStore) => (await store.list()).map((p) => p.name);

/** Every listed package's bytes hash to its listed digest: the store's invariant. */
export async function checkInvariant(t: Test, store: PackageStore): Promise<void> {
  for (const entry of await store.list()) {
    const bytes = await readAll(store, entry.name);
    t.equal(bytes && sha(bytes), entry.sha256, `${entry.name}: its bytes hash to its listed digest`);
    t.equal(bytes?.length, entry.size, `${entry.name}: its size is its listed size`);
  }
}

export function storeConformance(t: Test, fixture: FixtureFactory): void {
  t.test("list, newest first; get", async (t) => {
    const { store } = await fixture(t);
    t.same(await store.list(), [], "a new store is empty");
    for (const name of ["one.zip", "two.zip", "three.zip"]) {
      await put(store, name, name);
      await sleep(5);
    }
    t.same(await names(store), ["three.zip", "two.zip", "one.zip"]);
    const entry = await store.get("two.zip");
    t.match(entry, { name: "two.zip", size: 7, sha256: sha("two.zip") });
    t.type(entry!.createdAt, Date);
    t.equal(await store.get("nope.zip"), undefined);
    await checkInvariant(t, store);
  });

  t.test("whole and ranged reads", async (t) => {
    const { store } = await fixture(t);
    const bytes = Buffer.from(Array.from({ length: 1_500_000 }, (_, i) => (i * 7) % 251)); // several read chunks
    await put(store, "big.bin", bytes);
    t.ok((await readAll(store, "big.bin"))!.equals(bytes), "whole");
    t.ok((await readAll(store, "big.bin", 1000, 1_200_000))!.equals(bytes.subarray(1000, 1_200_001)), "a range across chunks");
    t.ok((await readAll(store, "big.bin", bytes.length - 1, bytes.length - 1))!.equals(bytes.subarray(-1)), "the last byte");
    t.equal((await readAll(store, "big.bin", 0, -1))!.length, 0, "an empty range");
    t.equal(await store.open("nope.bin"), undefined);
    const reader = (await store.open("big.bin"))!;
    const first = await reader.read(0, bytes.length - 1)[Symbol.asyncIterator]().next();
    t.ok(first.value && first.value.length > 0, "a consumer may stop after the first chunk");
    await reader.close();
    await reader.close(); // closing twice is harmless
  });

  t.test("a reader keeps its bytes while the name is overwritten or removed", async (t) => {
    const { store } = await fixture(t);
    await put(store, "p.zip", "old bytes");
    const reader = (await store.open("p.zip"))!;
    await put(store, "p.zip", "new bytes, longer", true);
    const parts: Uint8Array[] = [];
    for await (const c of reader.read(0, reader.entry.size - 1)) parts.push(c);
    await reader.close();
    t.equal(Buffer.concat(parts).toString(), "old bytes");
    const again = (await store.open("p.zip"))!;
    t.equal(await store.remove("p.zip"), true);
    const kept: Uint8Array[] = [];
    for await (const c of again.read(0, again.entry.size - 1)) kept.push(c);
    await again.close();
    t.equal(Buffer.concat(kept).toString(), "new bytes, longer");
  });

  t.test("stage and commit: hashed while written, visible only once committed", async (t) => {
    const { store } = await fixture(t);
    const staged = await store.stage(chunks("hello ", "world"), 100);
    t.match(staged, { size: 11, sha256: sha("hello world") });
    t.same(await store.list(), [], "staged bytes are not listed");
    const { entry, replaced } = await store.commit(staged, "hw.zip", { overwrite: false });
    t.equal(replaced, false);
    t.match(entry, { name: "hw.zip", size: 11, sha256: sha("hello world") });
    t.match(await store.get("hw.zip"), { sha256: sha("hello world") });
    t.equal((await readAll(store, "hw.zip"))!.toString(), "hello world");
    await t.rejects(store.commit(staged, "again.zip", { overwrite: false }), "a staged upload is used once");
  });

  t.test("stage: too large, aborted source, discard; nothing is left behind", async (t) => {
    const fx = await fixture(t);
    const { store } = fx;
    t.type(await rejection(store.stage(chunks("12345", "67890"), 8)), TooLargeError);
    async function* broken(): AsyncIterable<Uint8Array> {
      yield Buffer.from("partial");
      throw new Error("client went away");
    }
    const aborted = await rejection(store.stage(broken(), 100));
    t.type(aborted, UploadAbortedError);
    t.match((aborted as Error).message, /client went away/);
    await store.discard(await store.stage(chunks("x"), 10));
    t.same(await store.list(), []);
    const reopened = await fx.reopen();
    t.same(await reopened.list(), [], "nothing after a restart either");
  });

  t.test("commit is a conditional create unless it overwrites", async (t) => {
    const { store } = await fixture(t);
    await put(store, "x.zip", "old");
    t.type(await rejection(put(store, "x.zip", "new")), ConflictError);
    t.equal((await readAll(store, "x.zip"))!.toString(), "old", "the old package is untouched");
    t.same(await names(store), ["x.zip"]);
    const result = await put(store, "x.zip", "newer", true);
    t.match(result, { entry: { size: 5, sha256: sha("newer") }, replaced: true });
    t.equal((await readAll(store, "x.zip"))!.toString(), "newer");
    await checkInvariant(t, store);
  });

  t.test("concurrent creates of one name: exactly one wins", async (t) => {
    const { store } = await fixture(t);
    const staged = await Promise.all(Array.from({ length: 8 }, (_, i) => store.stage(chunks(`body ${i}`), 100)));
    const results = await Promise.all(staged.map((s) => rejection(store.commit(s, "race.zip", { overwrite: false }))));
    t.equal(results.filter((r) => r === null).length, 1, "one commit succeeded");
    t.equal(results.filter((r) => r instanceof ConflictError).length, 7, "the others are conflicts");
    await checkInvariant(t, store);
  });

  t.test("commit refuses a name the contract does not allow", async (t) => {
    const { store } = await fixture(t);
    for (const name of ["../escape.zip", "a/b.zip", ".hidden", "x".repeat(249), "bidi\u202egnp.zip", "bad\ufffd.zip"]) {
      t.type(await rejection(put(store, name, "x")), InvalidNameError, JSON.stringify(name.slice(0, 20)));
    }
    await put(store, "x".repeat(248), "the longest name");
    t.same(await names(store), ["x".repeat(248)]);
  });

  t.test("remove", async (t) => {
    const { store } = await fixture(t);
    await put(store, "r.zip", "r");
    await put(store, "s.zip", "s");
    t.equal(await store.remove("r.zip"), true);
    t.same(await names(store), ["s.zip"]);
    t.equal(await store.get("r.zip"), undefined);
    t.equal(await store.open("r.zip"), undefined);
    t.equal(await store.remove("r.zip"), false);
    t.equal(await store.remove("never.zip"), false);
  });

  t.test("changes behind the store's back are seen", async (t) => {
    const fx = await fixture(t);
    await put(fx.store, "kept.zip", "k");
    await fx.putBehind("added.zip", Buffer.from("added by hand"));
    t.same((await fx.store.list()).map((p) => [p.name, p.sha256]).sort(), [
      ["added.zip", sha("added by hand")],
      ["kept.zip", sha("k")],
    ]);
    await fx.removeBehind("kept.zip");
    t.same(await names(fx.store), ["added.zip"]);
    t.equal(await fx.store.get("kept.zip"), undefined);
    t.equal(await fx.store.open("kept.zip"), undefined);
    await fx.putBehind("added.zip", Buffer.from("replaced by hand"));
    t.equal((await readAll(fx.store, "added.zip"))!.toString(), "replaced by hand");
    t.match(await fx.store.get("added.zip"), { sha256: sha("replaced by hand") }, "never the digest of other bytes");
    await checkInvariant(t, fx.store);
  });

  t.test("onChange tells of commits, removals and changes behind the back", async (t) => {
    const fx = await fixture(t);
    let calls = 0;
    const off = fx.store.onChange(() => calls++);
    await put(fx.store, "a.zip", "a");
    t.ok(calls >= 1, "after a commit");
    const afterCommit = calls;
    await fx.store.remove("a.zip");
    t.ok(calls > afterCommit, "after a removal");
    const afterRemove = calls;
    await fx.putBehind("b.zip", Buffer.from("b"));
    await fx.store.list();
    t.ok(calls > afterRemove, "after a change behind the back, once noticed");
    off();
    const before = calls;
    await put(fx.store, "c.zip", "c");
    t.equal(calls, before, "not after unsubscribing");
  });

  t.test("a restart sees the same packages and digests", async (t) => {
    const fx = await fixture(t);
    await put(fx.store, "a.zip", "a bytes");
    await put(fx.store, "b.zip", "b bytes");
    await put(fx.store, "b.zip", "b bytes again", true);
    const reopened = await fx.reopen();
    t.same((await reopened.list()).map((p) => [p.name, p.sha256]).sort(), [
      ["a.zip", sha("a bytes")],
      ["b.zip", sha("b bytes again")],
    ]);
    await checkInvariant(t, reopened);
  });

  t.test("documents are replaced whole and survive a restart", async (t) => {
    const fx = await fixture(t);
    t.equal(await fx.store.loadDocument("counts.json"), null);
    await fx.store.saveDocument("counts.json", '{"a":1}');
    await fx.store.saveDocument("counts.json", '{"a":2}');
    t.equal(await fx.store.loadDocument("counts.json"), '{"a":2}');
    t.equal(await (await fx.reopen()).loadDocument("counts.json"), '{"a":2}');
    t.same(await fx.store.list(), [], "a document is not a package");
  });

  t.test("document updates take turns: none is lost; a change that throws saves nothing", async (t) => {
    const { store } = await fixture(t);
    const add = (n: number) =>
      store.updateDocument("list.json", async (text) => {
        const list = text === null ? [] : (JSON.parse(text) as number[]);
        await sleep(1); // every update is in flight at once
        return JSON.stringify([...list, n]);
      });
    await Promise.all(Array.from({ length: 20 }, (_, i) => add(i)));
    t.same((JSON.parse((await store.loadDocument("list.json"))!) as number[]).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i), "all 20 updates kept");
    const refused = new Error("not this one");
    t.equal(await rejection(store.updateDocument("list.json", () => Promise.reject(refused))), refused, "the change's own error");
    t.equal(await rejection(store.updateDocument("list.json", () => null)), null, "null leaves it as it is");
    t.equal(JSON.parse((await store.loadDocument("list.json"))!).length, 20, "unchanged by either");
    await store.updateDocument("fresh.json", (text) => (text === null ? "first" : "again"));
    t.equal(await store.loadDocument("fresh.json"), "first", "a missing document is null to the change");
  });

  t.test("health of a working store", async (t) => {
    const { store } = await fixture(t);
    t.same(await store.health(), { readable: true, writable: true, indexed: true });
  });
}
