// WORKERS=2: two server processes share the port (node:cluster; under Bun and Deno each binds it with SO_REUSEPORT). An upload
// acknowledged by one is visible through the other before the next request;
// download counts from both add up; a generated token is the same in both;
// SIGTERM stops them all.

import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { curl, ownerOfPort, recordingProxy } from "./helpers/http.js";
import { eventually } from "./helpers/requests.js";
import { keptDir, onlyOn, runtimeCommand, S3_BACKEND, serverFor, type RunningServer } from "./helpers/server.js";

/** Waits until every worker has said it listens (the helper returns at the first). */
async function allListening(server: RunningServer, workers = 2): Promise<void> {
  for (let i = 0; i < 100 && (server.output().match(/listening on/g) ?? []).length < workers; i++) await new Promise((r) => setTimeout(r, 50));
}

/** A request on a connection of its own, so the primary hands it to either worker. */
async function fresh(server: RunningServer, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(server.url + path, { ...init, headers: { ...(init.headers as Record<string, string>), connection: "close" } });
}

t.test("every answer after an acknowledged change reflects it, whichever worker gives it", async (t) => {
  const server = await serverFor(t, { env: { WORKERS: "2", MAX_PACKAGES: "0" } });
  await allListening(server);
  t.equal((server.output().match(/listening on/g) ?? []).length >= 1, true);
  for (let i = 0; i < 15; i++) {
    const body = `version ${i}`;
    const put = await fresh(server, "/assets/tool-v1.0.0.zip?overwrite=true", { method: "PUT", headers: server.auth, body });
    const { sha256 } = (await put.json()) as { sha256: string };
    for (let j = 0; j < 4; j++) {
      t.equal((await (await fresh(server, "/assets/tool-v1.0.0.zip.sha256")).text()).split(" ")[0], sha256, `round ${i}: .sha256`);
      const latest = (await (await fresh(server, "/latest")).json()) as { assets: { digest: string }[] };
      t.equal(latest.assets[0].digest, `sha256:${sha256}`, `round ${i}: /latest`);
      t.equal(await (await fresh(server, "/assets/tool-v1.0.0.zip")).text(), body, `round ${i}: the bytes`);
    }
  }
  t.equal((await fresh(server, "/assets/tool-v1.0.0.zip", { method: "DELETE", headers: server.auth })).status, 204);
  for (let j = 0; j < 6; j++) t.equal((await fresh(server, "/assets/tool-v1.0.0.zip")).status, 404, "a delete too");
  t.match(server.output(), /starting 2 workers/);
});

t.test("an upload through one worker reaches the other without either reading the whole storage", async (t) => {
  // A worker takes in its sibling's upload by the names its watcher gave: a stat and a sidecar read
  // (under Bun and Deno, once the watcher has reported a touch of a file of its own: fs-store.ts,
  // caughtUp). On the bucket, by the names the primary relayed.
  const server = await serverFor(t, { env: { WORKERS: "2", MAX_PACKAGES: "0", INDEX_REFRESH_INTERVAL: "3600" } });
  await allListening(server);
  // Each scrape on a connection of its own: 16 of them reach both workers (round robin under Node).
  const listings = async () => {
    const seen: number[] = [];
    for (let i = 0; i < 16; i++) seen.push(Number((await (await fresh(server, "/metrics")).text()).match(/^release_server_storage_listings_total (\d+)$/m)?.[1]));
    return Math.max(...seen);
  };
  await (await fresh(server, "/latest")).arrayBuffer();
  const before = await listings();
  for (let i = 0; i < 20; i++) {
    const put = await fresh(server, `/assets/sib-v1.${i}.0.zip`, { method: "PUT", headers: server.auth, body: `sibling ${i}` });
    t.equal(put.status, 201);
    for (let j = 0; j < 2; j++) t.equal(await (await fresh(server, `/assets/sib-v1.${i}.0.zip`)).text(), `sibling ${i}`, `upload ${i}, read ${j}`);
  }
  t.equal(await listings(), before, "no worker read the whole storage again");
});

t.test("download counts from every worker add up", async (t) => {
  const server = await serverFor(t, { env: { WORKERS: "2" } });
  await allListening(server);
  await fresh(server, "/assets/count-v1.0.0.zip", { method: "PUT", headers: server.auth, body: "count me" });
  for (let i = 0; i < 10; i++) await (await fresh(server, "/assets/count-v1.0.0.zip")).arrayBuffer();
  let count = 0;
  for (let i = 0; i < 50 && count < 10; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const latest = (await (await fresh(server, "/latest")).json()) as { assets: { download_count: number }[] };
    count = latest.assets[0].download_count;
  }
  t.equal(count, 10);
});

t.test("the primary removes leftover uploads before its workers serve, and prunes counts of removed packages", { skip: S3_BACKEND ? "works on the storage directory, not the bucket" : false }, async (t) => {
  // The primary does not index the directory at start (its workers do): it learns the packages when it first saves counts.
  const dir = await keptDir(t);
  await writeFile(join(dir, ".tmp-left-by-a-crash"), "half an upload");
  await writeFile(join(dir, "keep-v1.0.0.zip"), "kept");
  await writeFile(join(dir, "gone-v1.0.0.zip"), "removed later");
  const server = await serverFor(t, { storage: dir, env: { WORKERS: "2" } });
  await allListening(server);
  t.notOk(existsSync(join(dir, ".tmp-left-by-a-crash")), "the leftover is gone");
  for (const name of ["keep-v1.0.0.zip", "gone-v1.0.0.zip"]) for (let i = 0; i < 3; i++) await (await fresh(server, `/assets/${name}`)).arrayBuffer();
  t.equal((await fresh(server, "/assets/gone-v1.0.0.zip", { method: "DELETE", headers: server.auth })).status, 204);
  await (await fresh(server, "/assets/keep-v1.0.0.zip")).arrayBuffer();
  await server.stop();
  const saved = JSON.parse(await readFile(join(dir, ".download-counts.json"), "utf8")) as { packages: Record<string, { count: number }> };
  t.same(Object.keys(saved.packages), ["keep-v1.0.0.zip"], "the removed package's count is dropped");
  t.equal(saved.packages["keep-v1.0.0.zip"].count, 4);
});

t.test("on the bucket the primary lists the packages only when it saves counts, never on its workers' timer", { skip: S3_BACKEND ? false : "the bucket's listings (on a directory: the test above)" }, async (t) => {
  // Every request to the bucket goes through a proxy that tells whose it is: the primary's, or not.
  let primary = 0;
  const owners: Promise<number | undefined>[] = [];
  const proxy = await recordingProxy(process.env.S3_ENDPOINT!, (line, port) => {
    // The package listing is the one with a delimiter; the sweep also lists staged uploads, without.
    if (!/[?&]list-type=2&/.test(line) || !/[?&]delimiter=/.test(line)) return;
    const owner = ownerOfPort(port, [primary]);
    owners.push(owner);
    return owner; // the listing waits for it: the connection is still open while its owner is looked up
  });
  t.teardown(() => proxy.close());
  const server = await serverFor(t, { env: { WORKERS: "2", S3_ENDPOINT: proxy.url, INDEX_REFRESH_INTERVAL: "1" } });
  primary = server.proc.pid!;
  await allListening(server);
  t.equal((await fresh(server, "/assets/listed-v1.0.0.zip", { method: "PUT", headers: server.auth, body: "listed" })).status, 201);
  await new Promise((r) => setTimeout(r, 3000)); // six turns of the workers' timer
  const serving = await Promise.all(owners.splice(0));
  t.ok(serving.length >= 4, `the workers list the bucket on their timer (${serving.length} listings)`);
  t.equal(serving.filter((pid) => pid === primary).length, 0, "the primary never did while they served");
  // A download to count: the primary saves it (and lists the packages, to drop the counts of removed ones).
  await (await fresh(server, "/assets/listed-v1.0.0.zip")).arrayBuffer();
  const counted = async () => ((await (await fresh(server, "/latest")).json()) as { assets: { download_count: number }[] }).assets[0].download_count === 1;
  t.ok(await eventually(counted), "the download is counted");
  t.equal(await server.stop(), 0);
  t.ok((await Promise.all(owners)).includes(primary), "it lists them when it saves counts (so the proxy does tell its requests apart)");
});

t.test("releases created at once through both workers are all kept; another repository's changes reach both", async (t) => {
  const server = await serverFor(t, { env: { WORKERS: "2" } });
  await allListening(server);
  const json = { ...server.auth, "content-type": "application/json" };
  // Each worker reads, changes and saves the release metadata: without taking turns, one save would drop another's release.
  const tags = Array.from({ length: 16 }, (_, i) => `v1.${i}.0`);
  const created = await Promise.all(
    tags.map((tag) => fresh(server, "/repos/acme/tools/releases", { method: "POST", headers: json, body: JSON.stringify({ tag_name: tag }) })),
  );
  t.same(created.map((r) => r.status), tags.map(() => 201), "16 releases created at once in a new repository");
  for (let i = 0; i < 4; i++) {
    const listed = (await (await fresh(server, "/repos/acme/tools/releases?per_page=100")).json()) as { tag_name: string }[];
    t.same(listed.map((r) => r.tag_name).sort(), [...tags].sort(), `all 16 listed (request ${i})`);
  }
  // A package of that repository, acknowledged by one worker, is served by both at once.
  for (let i = 0; i < 6; i++) {
    const release = (await (await fresh(server, `/repos/acme/tools/releases/tags/v1.${i}.0`)).json()) as { id: number };
    const name = `tool-${i}.zip`;
    const up = await fresh(server, `/api/uploads/repos/acme/tools/releases/${release.id}/assets?name=${name}`, { method: "POST", headers: server.auth, body: `bytes ${i}` });
    t.equal(up.status, 201, `asset ${i} uploaded`);
    for (let j = 0; j < 4; j++) {
      const got = (await (await fresh(server, `/repos/acme/tools/releases/tags/v1.${i}.0`)).json()) as { assets: { name: string }[] };
      t.same(got.assets.map((a) => a.name), [name], `asset ${i} listed (request ${j})`);
    }
  }
});

t.test("a generated token works in every worker; SIGTERM stops them all", async (t) => {
  const server = await serverFor(t, { env: { WORKERS: "2", AUTH_TOKEN: "" } });
  await allListening(server);
  const token = /generated one for this run: (\S+)/.exec(server.output())?.[1];
  t.ok(token, "printed once");
  t.equal((server.output().match(/generated one for this run/g) ?? []).length, 1, "only once");
  for (let i = 0; i < 6; i++) {
    const r = await curl(["-w", "%{http_code}", "-X", "PUT", "-H", `Authorization: Bearer ${token}`, "--data-binary", `x${i}`, `${server.url}/assets/gen-${i}.zip`]);
    t.match(r.stdout, /201$/, `upload ${i}`);
  }
  t.equal(await server.stop(), 0, "the primary exits 0");
  t.equal((server.output().match(/\bstopped\b/g) ?? []).length, 3, "both workers and the primary stopped");
});

t.test("under Deno, WORKERS without --allow-run or --unstable-net says why and serves in one process", async (t) => {
  if (!onlyOn(t, ["deno"], "a Deno permission and flag")) return;
  const [deno, , , config, entry] = runtimeCommand("deno");
  const cases = [
    { command: [deno, "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", config, entry], why: /WORKERS=2: Deno needs --allow-run/ },
    { command: [deno, "run", "--allow-all", "--no-config", entry], why: /WORKERS=2: Deno shares a port between processes only with --unstable-net/ },
  ];
  for (const { command, why } of cases) {
    const server = await serverFor(t, { env: { WORKERS: "2" }, command });
    t.match(server.output(), why, "the warning names what is missing");
    t.notMatch(server.output(), /starting 2 workers/, "no workers");
    const put = await fetch(`${server.url}/assets/one-v1.0.0.zip`, { method: "PUT", headers: server.auth, body: "one" });
    t.equal(put.status, 201, "and the one process serves");
    t.equal(await server.stop(), 0);
  }
});
