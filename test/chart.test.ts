// The Helm chart without helm: values.yaml and every example override file
// validate against values.schema.json (with a real JSON-schema validator),
// bad overrides do not, every .Values reference in the templates exists,
// every value is documented, and the server settings the chart writes are
// ones the server knows. (helm lint / helm template | kubeconform run in the
// GitHub workflow, where helm is installed.)

import { Ajv } from "ajv";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import { DEFAULTS, SETTINGS } from "../src/config.js";
import { ROOT } from "./helpers/server.js";

const CHART = join(ROOT, "chart");
type Values = Record<string, unknown>;

const readYaml = async (path: string) => parse(await readFile(path, "utf8")) as Values;
const values = await readYaml(join(CHART, "values.yaml"));
const schema = JSON.parse(await readFile(join(CHART, "values.schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
const templateDir = join(CHART, "templates");
const templates = Object.fromEntries(
  await Promise.all((await readdir(templateDir)).map(async (f) => [f, await readFile(join(templateDir, f), "utf8")] as const)),
);

const isObject = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

/** Helm's merge of an override file onto values.yaml: maps merge, everything else replaces. */
function merge(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = isObject(v) && isObject(base[k]) ? merge(base[k], v) : v;
  return out;
}

function errors(v: Values): string {
  return validate(v) ? "" : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join("; ");
}

/** Dotted paths of the leaves of values.yaml (arrays and empty maps are leaves). */
function leaves(v: Values, prefix = ""): string[] {
  return Object.entries(v).flatMap(([k, x]) => (isObject(x) && Object.keys(x).length > 0 ? leaves(x, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

t.test("values.yaml satisfies the schema", async (t) => {
  t.equal(errors(values), "");
});

t.test("each example override file satisfies the schema", async (t) => {
  const examples = (await readdir(join(CHART, "examples"))).filter((f) => f.endsWith(".yaml"));
  t.ok(examples.length >= 3, "there are examples");
  for (const file of examples) {
    const override = await readYaml(join(CHART, "examples", file));
    t.equal(errors(merge(values, override)), "", file);
    t.ok(override.authToken || override.existingSecret, `${file} sets a token source (the chart requires one)`);
  }
});

t.test("bad overrides fail validation", async (t) => {
  const bad: [string, Values][] = [
    ["a misspelt top-level key", { authtoken: "x" }],
    ["a misspelt nested key", { persistence: { enable: false } }],
    ["a port that is not a number", { service: { port: "eighty" } }],
    ["an unknown access mode", { persistence: { accessMode: "ReadWriteSometimes" } }],
    ["more than one replica", { replicaCount: 2 }],
    ["a size the server cannot parse", { config: { maxUploadSize: "lots" } }],
    ["a zero size, which the server refuses", { config: { maxUploadSize: "0" } }],
    ["a public URL without a scheme", { config: { publicUrl: "releases.example.com" } }],
    ["a negative retention", { config: { maxPackages: -1 } }],
    ["a digest that is not one", { image: { digest: "latest" } }],
    ["an ingress path without pathType", { ingress: { hosts: [{ host: "a", paths: [{ path: "/" }] }] } }],
  ];
  for (const [what, override] of bad) t.not(errors(merge(values, override)), "", what);
});

t.test("every .Values reference in the templates exists in values.yaml", async (t) => {
  let count = 0;
  for (const [file, text] of Object.entries(templates)) {
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      count++;
      let node: unknown = values;
      for (const key of m[1].slice(1).split(".")) node = isObject(node) && key in node ? node[key] : undefined;
      t.not(node, undefined, `${file}: .Values${m[1]}`);
    }
  }
  t.ok(count > 40, `the templates were scanned (${count} references)`);
});

t.test("every value is in the schema and documented in chart/README.md", async (t) => {
  const readme = await readFile(join(CHART, "README.md"), "utf8");
  for (const path of leaves(values)) t.match(readme, `| \`${path}\` |`, `${path} has a row in the values table`);
  const top = Object.keys(schema.properties).filter((k) => k !== "global");
  t.same(top.sort(), Object.keys(values).sort(), "the schema and values.yaml list the same top-level keys");
});

t.test("config.yaml holds only settings the server knows, with its defaults", async (t) => {
  const block = /config\.yaml: \|\n([^]*)$/.exec(templates["configmap.yaml"])![1];
  const keys = [...block.matchAll(/^\s+([a-z_]+):/gm)].map((m) => m[1]);
  t.ok(keys.length >= 5);
  const known = SETTINGS.map((s) => s.toLowerCase());
  for (const k of keys) t.ok(known.includes(k as (typeof known)[number]), `${k} is a server setting`);
  const config = values.config as Values;
  t.equal(String(config.maxPackages), DEFAULTS.MAX_PACKAGES);
  t.equal(String(config.maxUploadSize), DEFAULTS.MAX_UPLOAD_SIZE);
  t.equal(String(config.shutdownTimeout), DEFAULTS.SHUTDOWN_TIMEOUT);
});

t.test("the deployment has the required properties", async (t) => {
  const d = templates["deployment.yaml"];
  t.match(d, /livenessProbe:\s+httpGet:\s+path: \/healthz/);
  t.match(d, /readinessProbe:\s+httpGet:\s+path: \/readyz/);
  t.match(d, /checksum\/config: \{\{ include \(print \$\.Template\.BasePath "\/configmap\.yaml"\) \. \| sha256sum \}\}/);
  t.match(d, /terminationGracePeriodSeconds: \{\{ add \(int \.Values\.config\.shutdownTimeout\) 5 \}\}/);
  t.match(d, /type: \{\{ include "release-server\.strategy" \. \}\}/);
  t.match(templates["_helpers.tpl"], /persistence\.enabled \(has \.Values\.persistence\.accessMode \(list "ReadWriteOnce" "ReadWriteOncePod"\)\) \}\}Recreate/);
  t.match(values, {
    podSecurityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
    securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    resources: { requests: { cpu: String, memory: String }, limits: { cpu: String, memory: String } },
  });
  for (const f of ["deployment.yaml", "service.yaml", "ingress.yaml", "httproute.yaml", "pvc.yaml", "secret.yaml", "configmap.yaml", "serviceaccount.yaml", "_helpers.tpl", "NOTES.txt"]) {
    t.ok(f in templates, `templates/${f}`);
  }
});

t.test("template blocks are balanced and actions closed", async (t) => {
  for (const [file, text] of Object.entries(templates)) {
    const actions = [...text.matchAll(/\{\{-?\s*(.*?)\s*-?\}\}/gs)].map((m) => m[1]);
    t.equal(text.split("{{").length, text.split("}}").length, `${file}: every {{ has its }}`);
    let depth = 0;
    for (const a of actions) {
      if (/^(if|with|range|define)\b/.test(a)) depth++;
      if (/^end\b/.test(a)) depth--;
      if (depth < 0) break;
    }
    t.equal(depth, 0, `${file}: if/with/range/define blocks are closed`);
  }
});

t.test("Chart.yaml", async (t) => {
  t.match(await readYaml(join(CHART, "Chart.yaml")), { apiVersion: "v2", name: "release-server", version: String, appVersion: String, type: "application" });
});
