// Three server processes on one bucket and one PostgreSQL database, as
// several replicas run behind a Service: they agree on every name, race
// fairly, retain together, clean up after a killed replica, see other tools'
// objects, and ride out the database going away. The database here is a
// private cluster, so stopping it disturbs nobody else's tests.

import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import t, { type Test } from "tap";
import { sha256, upload } from "./helpers/http.js";
import { keysUnder, s3Env, testPrefix } from "./helpers/object-storage.js";
import { ROOT, serverFor, startServer, type RunningServer } from "./helpers/server.js";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REFRESH_S = 1;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A private PostgreSQL cluster: started with ../shared/pg/start-pg.sh, stopped and purged at the end. */
async function privateDatabase(t: Test): Promise<{ url: string; stop(): Promise<void>; start(): Promise<void> } | string> {
  const script = join(ROOT, "..", "shared", "pg");
  const env = { ...process.env, PG_STATE_DIR: `/tmp/rs-pg-${randomUUID().slice(0, 8)}`, PG_PORT: String(await freePort()) };
  const start = async () => {
    const { stdout } = await run("bash", [join(script, "start-pg.sh")], { env, timeout: 300_000 });
    return /DATABASE_URL=(\S+)/.exec(stdout)![1];
  };
  let url: string;
  try {
    url = await start();
  } catch (err) {
    return `start-pg.sh failed: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split("\n").slice(-2).join(" / ")}`;
  }
  t.teardown(() => run("bash", [join(script, "stop-pg.sh")], { env: { ...env, PG_PURGE: "1" } }).then(() => {}));
  return {
    url,
    start: async () => void (await start()),
    stop: async () => void (await run("bash", [join(script, "stop-pg.sh")], { env })),
  };
}

/** Polls until `check` holds; how long it took, or -1 when it never did within `ms`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started <= ms) {
    if (await check().catch(() => false)) return Date.now() - started;
    await sleep(50);
  }
  return -1;
}

const names = async (server: RunningServer) => ((await (await fetch(`${server.url}/packages`)).json()) as { name: string }[]).map((p) => p.name).sort();

const s3 = await s3Env();
const skip = typeof s3 === "string" ? `no S3 server: ${s3}` : false;

t.test("three replicas on one bucket and one database", { skip }, async (t) => {
  if (typeof s3 === "string") return;
  const db = await privateDatabase(t);
  if (typeof db === "string") {
    t.comment(`skipped: no PostgreSQL: ${db}`);
    return;
  }
  const { client } = s3;
  const prefix = testPrefix(t, client);
  const env = { ...s3.env, STORAGE_BACKEND: "s3", S3_PREFIX: prefix, DATABASE_URL: db.url, INDEX_REFRESH_INTERVAL: String(REFRESH_S), MAX_PACKAGES: "0", DEFAULT_REPOSITORY: "o/r" };
  const start = (extra: Record<string, string> = {}) => serverFor(t, { env: { ...env, ...extra } });
  const [a, b, c] = await Promise.all([start(), start(), start()]);
  const replicas = [a, b, c];

  await t.test("an upload through one is served by the other two within a second", async (t) => {
    const bytes = randomBytes(100_000);
    t.equal((await upload(a, "tool-v1.0.0.zip", bytes)).status, 200);
    for (const other of [b, c]) {
      const took = await within(1000, async () => (await fetch(`${other.url}/assets/tool-v1.0.0.zip`, { method: "HEAD" })).status === 200);
      t.ok(took >= 0, `seen by ${other.url} within a second`);
      const res = await fetch(`${other.url}/assets/tool-v1.0.0.zip`);
      t.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(bytes), "the same bytes");
      t.equal(res.headers.get("etag"), `"${sha256(bytes)}"`);
    }
  });

  await t.test("download counts from all replicas add up", async (t) => {
    t.equal((await upload(a, "counted-v0.0.1.zip", randomBytes(1000))).status, 200);
    const count = async (r: RunningServer) => {
      const release = (await (await fetch(`${r.url}/api/v3/repos/o/r/releases/tags/v0.0.1`)).json()) as { assets: { name: string; download_count: number }[] };
      return release.assets.find((x) => x.name === "counted-v0.0.1.zip")?.download_count;
    };
    const get = async (r: RunningServer) => {
      await within(1000, async () => (await fetch(`${r.url}/assets/counted-v0.0.1.zip`, { method: "HEAD" })).status === 200);
      await (await fetch(`${r.url}/assets/counted-v0.0.1.zip`)).arrayBuffer();
    };
    await get(a);
    await get(a);
    await get(b);
    await get(c);
    // Each replica adds its downloads to the shared counts when it writes them (2 s batches) and takes the totals back.
    await sleep(2500);
    await get(a);
    let seen: number | undefined;
    t.ok((await within(5000, async () => (seen = await count(a)) === 5)) >= 0, `the replica that wrote last counts every replica's downloads (saw ${seen})`);
    t.equal((await fetch(`${a.url}/packages/counted-v0.0.1.zip`, { method: "DELETE", headers: a.auth })).status, 204);
  });

  await t.test("20 concurrent overwrite=false uploads of one name: one 200, nineteen 409, one object", async (t) => {
    const bodies = Array.from({ length: 20 }, () => randomBytes(50_000));
    const statuses = await Promise.all(bodies.map((body, i) => upload(replicas[i % 3], "race.zip", body).then(async (r) => (await r.arrayBuffer(), r.status))));
    t.equal(statuses.filter((s) => s === 200).length, 1, "one winner");
    t.equal(statuses.filter((s) => s === 409).length, 19, "nineteen conflicts");
    const winner = bodies[statuses.indexOf(200)];
    for (const r of replicas) {
      t.ok((await within(1000, async () => (await fetch(`${r.url}/assets/race.zip`)).headers.get("etag") === `"${sha256(winner)}"`)) >= 0, "every replica serves the winner");
    }
    const objects = (await keysUnder(client, prefix)).filter((k) => k.startsWith(".objects/"));
    t.equal(objects.length, 2, "the bucket holds two objects: the first test's and the winner's");
    t.same(await client.listMultipartUploads(prefix), [], "no multipart upload left");
  });

  await t.test("releases created at once through all three, in a new repository too, are all kept", async (t) => {
    const json = (r: RunningServer) => ({ ...r.auth, "content-type": "application/json" });
    for (const repo of ["o/r", "acme/second"]) {
      // Each creation reads, changes and saves the repository's release metadata in the database: they must take turns.
      const tags = Array.from({ length: 12 }, (_, i) => `v3.${i}.0`);
      const statuses = await Promise.all(
        tags.map(async (tag, i) => {
          const r = replicas[i % 3];
          const res = await fetch(`${r.url}/repos/${repo}/releases`, { method: "POST", headers: json(r), body: JSON.stringify({ tag_name: tag }) });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      t.same(statuses, tags.map(() => 201), `${repo}: 12 releases created at once`);
      for (const r of replicas) {
        const ok = await within(1500, async () => {
          const listed = (await (await fetch(`${r.url}/repos/${repo}/releases?per_page=100`)).json()) as { tag_name: string }[];
          return tags.every((tag) => listed.some((x) => x.tag_name === tag));
        });
        t.ok(ok >= 0, `${repo}: all 12 listed by ${r.url}`);
      }
    }
    // The second repository's asset, uploaded through one replica, is served by the others.
    const release = (await (await fetch(`${a.url}/repos/acme/second/releases/tags/v3.0.0`)).json()) as { id: number };
    const bytes = randomBytes(5000);
    const up = await fetch(`${a.url}/api/uploads/repos/acme/second/releases/${release.id}/assets?name=second.zip`, { method: "POST", headers: a.auth, body: bytes });
    t.equal(up.status, 201, "an asset of the second repository");
    for (const r of [b, c]) {
      const ok = await within(1500, async () => {
        const res = await fetch(`${r.url}/repos/acme/second/releases/tags/v3.0.0`);
        const got = (await res.json()) as { assets?: { name: string; digest: string }[] };
        return got.assets?.[0]?.digest === `sha256:${sha256(bytes)}`;
      });
      t.ok(ok >= 0, `served by ${r.url}`);
    }
  });

  await t.test("the older API through every replica: upload, list, latest, download, delete", async (t) => {
    const bytes = randomBytes(20_000);
    t.equal((await upload(b, "old-api-v2.0.0.zip", bytes)).status, 200);
    for (const r of replicas) {
      t.ok((await within(1000, async () => (await names(r)).includes("old-api-v2.0.0.zip"))) >= 0, `listed by ${r.url}`);
      const latest = (await (await fetch(`${r.url}/latest`)).json()) as { assets: { name: string }[] };
      t.ok(latest.assets.some((x) => x.name === "old-api-v2.0.0.zip"), "in /latest");
      const got = await fetch(`${r.url}/assets/old-api-v2.0.0.zip`, { headers: { range: "bytes=100-199" } });
      t.equal(got.status, 206);
      t.ok(Buffer.from(await got.arrayBuffer()).equals(bytes.subarray(100, 200)), "a range");
    }
    t.equal((await fetch(`${c.url}/packages/old-api-v2.0.0.zip`, { method: "DELETE", headers: c.auth })).status, 204);
    for (const r of replicas) {
      t.ok((await within(1000, async () => (await fetch(`${r.url}/assets/old-api-v2.0.0.zip`)).status === 404)) >= 0, `gone from ${r.url}`);
    }
  });

  await t.test("objects put into or removed from the bucket directly appear and vanish within the refresh interval", async (t) => {
    const bytes = randomBytes(10_000);
    await client.put(prefix + "by-hand.zip", bytes);
    for (const r of replicas) {
      const took = await within(REFRESH_S * 1500, async () => (await fetch(`${r.url}/assets/by-hand.zip`, { method: "HEAD" })).headers.get("etag") === `"${sha256(bytes)}"`);
      t.ok(took >= 0, `appears on ${r.url} with its digest`);
    }
    await client.delete(prefix + "by-hand.zip");
    for (const r of replicas) {
      t.ok((await within(REFRESH_S * 1500, async () => !(await names(r)).includes("by-hand.zip"))) >= 0, `vanishes from ${r.url}`);
      t.equal((await fetch(`${r.url}/assets/by-hand.zip`)).status, 404, "and is never served");
    }
  });

  await t.test("a name whose object vanished is never served, even before the next listing", async (t) => {
    const before = new Set(await keysUnder(client, prefix));
    t.equal((await upload(a, "vanishing.zip", randomBytes(5000))).status, 200);
    const key = (await keysUnder(client, prefix)).find((k) => k.startsWith(".objects/") && !before.has(k))!;
    t.ok(key, "its object is in the bucket");
    t.ok((await within(1000, async () => (await names(b)).includes("vanishing.zip"))) >= 0);
    await client.delete(prefix + key);
    const res = await fetch(`${b.url}/assets/vanishing.zip`);
    t.equal(res.status, 404, "404 at once: never a digest for bytes that are gone");
    for (const r of replicas) t.ok((await within(1000, async () => !(await names(r)).includes("vanishing.zip"))) >= 0, `and unlisted on ${r.url}`);
  });

  await t.test("concurrent retention on all three removes exactly the right set", async (t) => {
    const retained = await Promise.all([0, 1, 2].map(() => startServer({ env: { ...env, MAX_PACKAGES: "3" } })));
    t.teardown(() => Promise.all(retained.map((s) => s.stop())));
    for (const r of replicas) await fetch(`${r.url}/packages/race.zip`, { method: "DELETE", headers: r.auth });
    await fetch(`${a.url}/packages/tool-v1.0.0.zip`, { method: "DELETE", headers: a.auth });
    for (let i = 0; i < 4; i++) t.equal((await upload(a, `old-${i}.bin`, randomBytes(1000))).status, 200);
    const statuses = await Promise.all(retained.map((r, i) => upload(r, `new-${i}.bin`, randomBytes(1000)).then((res) => res.status)));
    t.same(statuses, [200, 200, 200]);
    for (const r of replicas) {
      t.ok((await within(1000, async () => (await names(r)).join() === "new-0.bin,new-1.bin,new-2.bin")) >= 0, `${r.url} lists exactly the three newest`);
    }
    t.same((await keysUnder(client, prefix)).filter((k) => k.startsWith(".objects/")).length, 3, "and the bucket holds exactly their objects");
  });

  await t.test("a replica killed mid-upload leaves no listed or stray object after the sweep", async (t) => {
    const victim = await startServer({ env });
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= 12 * 1024 * 1024) return new Promise<void>(() => {}); // past the first 8 MiB part, then hang (keeping nothing alive)
        controller.enqueue(randomBytes(256 * 1024));
        sent += 256 * 1024;
      },
    });
    const pending = fetch(`${victim.url}/assets/killed.zip`, { method: "PUT", headers: victim.auth, body, duplex: "half" } as RequestInit).catch(() => null);
    const started = await within(20_000, async () => (await client.listMultipartUploads(prefix)).length > 0);
    t.ok(started >= 0, "the upload reached the bucket as a multipart upload");
    await victim.stop("SIGKILL");
    await pending;
    const swept = await within(15_000, async () => (await client.listMultipartUploads(prefix)).length === 0 && (await keysUnder(client, prefix)).filter((k) => k.startsWith(".objects/")).length === 3);
    t.ok(swept >= 0, "the surviving replicas swept its multipart upload and objects");
    for (const r of replicas) t.notOk((await names(r)).includes("killed.zip"), "never listed");
  });

  await t.test("the database stopped and restarted mid-run", async (t) => {
    const before = randomBytes(5000);
    t.equal((await upload(a, "before-db-stop.zip", before)).status, 200);
    await within(1000, async () => (await names(c)).includes("before-db-stop.zip"));
    await db.stop();
    for (const r of replicas) {
      t.equal((await fetch(`${r.url}/assets/before-db-stop.zip`)).status, 200, "reads are served from memory");
      t.ok((await names(r)).includes("before-db-stop.zip"));
      const write = await upload(r, "during-db-stop.zip", randomBytes(100));
      t.equal(write.status, 503, "writes answer 503");
      t.match(await write.json(), { detail: /database cannot be reached/ });
      // Every replica is in the same state: failing readiness would only take the reads away too.
      const ready = await fetch(`${r.url}/readyz`);
      t.equal(ready.status, 200, "still ready: it serves reads");
      t.match(await ready.text(), /^OK, read-only: .*database cannot be reached/, "/readyz says why");
    }
    await db.start();
    for (const r of replicas) {
      t.ok((await within(10_000, async () => (await (await fetch(`${r.url}/readyz`)).text()) === "OK")) >= 0, "writable again, by itself");
    }
    t.equal((await upload(b, "after-db-restart.zip", randomBytes(100))).status, 200, "writes work again");
    for (const r of replicas) {
      t.ok((await within(1000, async () => (await names(r)).includes("after-db-restart.zip"))) >= 0, `${r.url} hears of changes again`);
    }
  });
});
