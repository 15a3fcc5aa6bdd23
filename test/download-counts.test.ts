import t from "tap";
import { COUNTS_DOCUMENT, DownloadCounts, type Documents } from "../src/store/download-counts.js";
import type { PackageEntry } from "../src/store/index.js";
import { InTurn, updateInTurn } from "../src/store/in-turn.js";

/** The store's documents, in memory; `failing` makes every save throw. */
function documents(failing = false) {
  const saved = new Map<string, string>();
  let saves = 0;
  const store = {
    loadDocument: async (key: string) => saved.get(key) ?? null,
    saveDocument: async (key: string, text: string) => {
      saves++;
      if (failing) throw new Error("the storage volume is full");
      saved.set(key, text);
    },
  };
  const turns = new InTurn();
  const docs: Documents = {
    loadDocument: store.loadDocument,
    updateDocument: (key, change) => updateInTurn(turns, store, key, change),
  };
  return { docs, saved, saves: () => saves };
}

const entry = (name: string, sha256 = "a".repeat(64)): PackageEntry => ({ name, size: 1, sha256, createdAt: new Date() });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test("counts are batched into one write and survive reopening", async (t) => {
  const { docs, saved, saves } = documents();
  const counts = await DownloadCounts.open(docs, { delayMs: 50 });
  const a = entry("a.zip");
  for (let i = 0; i < 5; i++) counts.record(a);
  t.equal(counts.count(a), 5, "counted in memory at once");
  t.equal(saves(), 0, "not written per download");
  await sleep(200);
  t.equal(saves(), 1, "one write for the burst");
  t.same(JSON.parse(saved.get(COUNTS_DOCUMENT)!), { version: 1, packages: { "a.zip": { sha256: a.sha256, count: 5 } } });
  const again = await DownloadCounts.open(docs);
  t.equal(again.count(a), 5);
  t.equal(again.count(entry("other.zip")), 0);
});

t.test("flush writes at once (shutdown); nothing pending, nothing written", async (t) => {
  const { docs, saves } = documents();
  const counts = await DownloadCounts.open(docs, { delayMs: 60_000 });
  await counts.flush();
  t.equal(saves(), 0);
  counts.record(entry("a.zip"));
  await counts.flush();
  t.equal((await DownloadCounts.open(docs)).count(entry("a.zip")), 1);
});

t.test("new bytes under the same name start from zero", async (t) => {
  const counts = await DownloadCounts.open(documents().docs);
  counts.record(entry("a.zip"));
  counts.record(entry("a.zip"));
  t.equal(counts.count(entry("a.zip", "b".repeat(64))), 0);
  counts.record(entry("a.zip", "b".repeat(64)));
  t.equal(counts.count(entry("a.zip", "b".repeat(64))), 1);
  t.equal(counts.count(entry("a.zip")), 0);
  await counts.flush();
});

t.test("counts of deleted packages are dropped when writing", async (t) => {
  const { docs, saved } = documents();
  const counts = await DownloadCounts.open(docs, { liveNames: async () => ["b.zip"] });
  counts.record(entry("a.zip"));
  counts.record(entry("b.zip"));
  await counts.flush();
  t.same(Object.keys(JSON.parse(saved.get(COUNTS_DOCUMENT)!).packages), ["b.zip"]);
});

t.test("an unreadable file starts from zero and says so; bad entries are skipped", async (t) => {
  const { docs, saved } = documents();
  saved.set(COUNTS_DOCUMENT, "{not json");
  const logged: string[] = [];
  const counts = await DownloadCounts.open(docs, { log: (m) => logged.push(m) });
  t.equal(counts.count(entry("a.zip")), 0);
  t.match(logged, [/ignoring unreadable/]);
  saved.set(COUNTS_DOCUMENT, JSON.stringify({ packages: { "a.zip": { sha256: "a".repeat(64), count: -3 }, "b.zip": null } }));
  const c2 = await DownloadCounts.open(docs);
  t.equal(c2.count(entry("a.zip")), 0);
});

t.test("a failed write is logged and retried at the next flush", async (t) => {
  const logged: string[] = [];
  const counts = await DownloadCounts.open(documents(true).docs, { log: (m) => logged.push(m) });
  counts.record(entry("a.zip"));
  await counts.flush();
  t.match(logged, [/could not save/]);
  await counts.flush();
  t.equal(logged.length, 2, "still pending, tried again");
});

t.test("two processes sharing one store add their downloads up instead of overwriting each other", async (t) => {
  const { docs, saved } = documents();
  const one = await DownloadCounts.open(docs, { delayMs: 60_000 });
  const two = await DownloadCounts.open(docs, { delayMs: 60_000 });
  const a = entry("a.zip");
  for (let i = 0; i < 3; i++) one.record(a);
  for (let i = 0; i < 4; i++) two.record(a);
  await Promise.all([one.flush(), two.flush()]);
  t.same(JSON.parse(saved.get(COUNTS_DOCUMENT)!).packages["a.zip"], { sha256: a.sha256, count: 7 }, "3 + 4 saved");
  t.equal(two.count(a), 7, "the later writer sees every download");
  one.record(a);
  await one.flush();
  t.equal(one.count(a), 8);
  const b = entry("a.zip", "b".repeat(64));
  two.record(b);
  await two.flush();
  t.same(JSON.parse(saved.get(COUNTS_DOCUMENT)!).packages["a.zip"], { sha256: b.sha256, count: 1 }, "new bytes under the name start again");
});
