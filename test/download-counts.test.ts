import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { COUNTS_FILE, DownloadCounts } from "../src/download-counts.js";
import type { PackageEntry } from "../src/storage.js";

const entry = (name: string, sha256 = "a".repeat(64)): PackageEntry => ({ name, size: 1, sha256, createdAt: new Date() });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test("counts are batched into one write and survive reopening", async (t) => {
  const dir = t.testdir();
  const counts = await DownloadCounts.open(dir, { delayMs: 50 });
  const a = entry("a.zip");
  for (let i = 0; i < 5; i++) counts.record(a);
  t.equal(counts.count(a), 5, "counted in memory at once");
  t.notOk((await readdir(dir)).includes(COUNTS_FILE), "not written per download");
  await sleep(200);
  const saved = JSON.parse(await readFile(join(dir, COUNTS_FILE), "utf8"));
  t.same(saved, { version: 1, packages: { "a.zip": { sha256: a.sha256, count: 5 } } });
  t.same((await readdir(dir)).filter((n) => n.startsWith(".tmp-")), [], "no temp file left");
  const again = await DownloadCounts.open(dir);
  t.equal(again.count(a), 5);
  t.equal(again.count(entry("other.zip")), 0);
});

t.test("flush writes at once (shutdown); nothing pending, nothing written", async (t) => {
  const dir = t.testdir();
  const counts = await DownloadCounts.open(dir, { delayMs: 60_000 });
  await counts.flush();
  t.notOk((await readdir(dir)).includes(COUNTS_FILE));
  counts.record(entry("a.zip"));
  await counts.flush();
  t.equal((await DownloadCounts.open(dir)).count(entry("a.zip")), 1);
});

t.test("new bytes under the same name start from zero", async (t) => {
  const counts = await DownloadCounts.open(t.testdir());
  counts.record(entry("a.zip"));
  counts.record(entry("a.zip"));
  t.equal(counts.count(entry("a.zip", "b".repeat(64))), 0);
  counts.record(entry("a.zip", "b".repeat(64)));
  t.equal(counts.count(entry("a.zip", "b".repeat(64))), 1);
  t.equal(counts.count(entry("a.zip")), 0);
  await counts.flush();
});

t.test("counts of deleted packages are dropped when writing", async (t) => {
  const dir = t.testdir();
  const counts = await DownloadCounts.open(dir, { liveNames: async () => ["b.zip"] });
  counts.record(entry("a.zip"));
  counts.record(entry("b.zip"));
  await counts.flush();
  const saved = JSON.parse(await readFile(join(dir, COUNTS_FILE), "utf8"));
  t.same(Object.keys(saved.packages), ["b.zip"]);
});

t.test("an unreadable file starts from zero and says so; bad entries are skipped", async (t) => {
  const dir = t.testdir();
  await writeFile(join(dir, COUNTS_FILE), "{not json");
  const logged: string[] = [];
  const counts = await DownloadCounts.open(dir, { log: (m) => logged.push(m) });
  t.equal(counts.count(entry("a.zip")), 0);
  t.match(logged, [/ignoring unreadable/]);
  await writeFile(join(dir, COUNTS_FILE), JSON.stringify({ packages: { "a.zip": { sha256: "a".repeat(64), count: -3 }, "b.zip": null } }));
  const c2 = await DownloadCounts.open(dir);
  t.equal(c2.count(entry("a.zip")), 0);
});

t.test("a failed write is logged and retried at the next flush", async (t) => {
  const dir = t.testdir();
  const logged: string[] = [];
  const counts = await DownloadCounts.open(join(dir, "missing"), { log: (m) => logged.push(m) });
  counts.record(entry("a.zip"));
  await counts.flush();
  t.match(logged, [/could not save/]);
  await counts.flush();
  t.equal(logged.length, 2, "still pending, tried again");
});
