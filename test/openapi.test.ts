// openapi.yaml describes every route the server has, and the objects it really emits.

import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import t from "tap";
import { parse } from "yaml";
import { TokenAuth } from "../src/auth.js";
import type { Config } from "../src/config.js";
import { silentLogger } from "../src/ops/log.js";
import { Metrics } from "../src/ops/metrics.js";
import type { Deps } from "../src/context.js";
import { releaseJson, releaseModel } from "../src/releases.js";
import { routes } from "../src/app.js";
import type { Repositories } from "../src/github/repositories.js";
import type { PackageEntry, PackageStore } from "../src/store/index.js";

const doc = parse(readFileSync(new URL("../openapi.yaml", import.meta.url), "utf8"));
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

t.test("every route is in openapi.yaml, and every documented operation is routed", async (t) => {
  const deps = { config: { metrics: "on" } as Config, storage: {} as PackageStore, repositories: {} as Repositories, log: silentLogger, auth: new TokenAuth([]), metrics: new Metrics(async () => ({ packages: 0, bytes: 0, listings: 0 })) } satisfies Deps;
  const shape = (path: string) => path.replace(/\{[^}]+\}/g, "{}").replace(/:[^/]+/g, "{}");
  const routed = new Set(routes(deps).map(([method, pattern]) => `${method.toLowerCase()} ${shape(pattern)}`));
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) {
      if (["get", "put", "post", "patch", "delete"].includes(method)) documented.add(`${method} ${shape(path)}`);
      else if (method === "head") t.ok(item.get, `${path}: HEAD is served where GET is`);
    }
  }
  for (const route of routed) t.ok(documented.has(route), `routed and documented: ${route}`);
  for (const op of documented) t.ok(routed.has(op), `documented and routed: ${op}`);
});

t.test("our Release and Asset schemas accept what the server emits", async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "ours", components: doc.components });
  const release = ajv.getSchema("ours#/components/schemas/Release")!;
  const asset = ajv.getSchema("ours#/components/schemas/Asset")!;
  const packages: PackageEntry[] = ["a-v1.0.0.zip", "a-v1.1.0-rc.1.tar.gz", "notes.txt"].map((name, i) => ({
    name,
    size: 10 + i,
    sha256: String(i).repeat(64),
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  }));
  const m = releaseModel(packages);
  const urls = { site: "https://rs.example", api: "https://rs.example/repos/o/r" };
  for (const r of [...m.releases, m.latest, releaseModel([]).latest]) {
    const json = releaseJson(r, urls, () => 3);
    t.ok(release(json), `${r.tag}: ${JSON.stringify(release.errors)}`);
    for (const a of json.assets) t.ok(asset(a), `${a.name}: ${JSON.stringify(asset.errors)}`);
  }
  t.notOk(release({ ...releaseJson(m.latest, urls, () => 0), draft: "no" }), "the schema is not vacuous");
  // A release made through the write API: a draft, with no name, notes or publication time yet.
  const record = {
    id: 77, tag_name: "v2.0.0", name: null, body: null, draft: true, prerelease: false, target_commitish: "main", make_latest: "true" as const,
    immutable: false, created_at: "2026-01-02T00:00:00.000Z", published_at: null, updated_at: "2026-01-02T00:00:00.000Z", latest_at: null, assets: [packages[0].name],
  };
  const draft = releaseJson({ id: 77, key: "id:77", tag: "v2.0.0", version: null, prerelease: false, packages: [packages[0]], record }, { ...urls, uploads: "https://rs.example/api/uploads/repos/o/r" }, () => 0, {
    meta: () => ({ label: "Linux", content_type: "application/zip" }),
    downloadUrl: (p) => `https://rs.example/o/r/releases/download/v2.0.0/${p.name}`,
  });
  t.ok(release(draft), `a draft: ${JSON.stringify(release.errors)}`);
  t.equal(draft.upload_url, "https://rs.example/api/uploads/repos/o/r/releases/77/assets{?name,label}");
});
