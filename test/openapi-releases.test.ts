// openapi.yaml describes every release route and the objects we really emit.

import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import t from "tap";
import { parse } from "yaml";
import type { Config } from "../src/config.js";
import type { Deps } from "../src/context.js";
import { releaseJson, releaseModel } from "../src/releases.js";
import { releaseRoutes } from "../src/routes/releases.js";
import type { PackageEntry, Storage } from "../src/storage.js";

const doc = parse(readFileSync(new URL("../openapi.yaml", import.meta.url), "utf8"));
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

t.test("every release route is in openapi.yaml, with its GET operation", async (t) => {
  const deps = { config: {} as Config, storage: {} as Storage, log: () => {} } satisfies Deps;
  const documented = new Set(Object.keys(doc.paths).map((p) => p.replace(/\{[^}]+\}/g, "{}")));
  for (const [method, pattern] of releaseRoutes(deps)) {
    const path = pattern.replace(/:[^/]+/g, "{}");
    t.ok(documented.has(path), `${method} ${pattern}`);
    const original = Object.keys(doc.paths).find((p) => p.replace(/\{[^}]+\}/g, "{}") === path)!;
    t.ok(doc.paths[original]?.[method.toLowerCase()], `${method} ${pattern} has an operation`);
  }
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
  t.notOk(release({ ...releaseJson(m.latest, urls, () => 0), draft: true }), "the schema is not vacuous");
});
