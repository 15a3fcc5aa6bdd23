// How long the pages take to render with many packages (no HTTP, no disk):
// node bench/pages.mjs [packages], after npm run build. Figures go in
// docs/BENCHMARKS.md, never into tests.
import { releaseModel } from "../dist/releases.js";
import { landingPage, packagesPage, releasePage, releasesPage } from "../dist/views/pages.js";

const count = Number(process.argv[2] ?? 10_000);
const now = new Date();
const packages = [];
// Spec Kit's shape: 34 templates a version, the rest unversioned.
for (let v = 0; packages.length + 34 <= count * 0.9; v++) {
  for (let a = 0; a < 34; a++) packages.push({ name: `spec-kit-template-agent${a}-v0.${v}.0.zip`, size: 50_000 + a, sha256: "ab".repeat(32), createdAt: new Date(now - packages.length * 1000) });
}
while (packages.length < count) packages.push({ name: `loose-${packages.length}.txt`, size: 10, sha256: "cd".repeat(32), createdAt: new Date(now - packages.length * 1000) });
packages.sort((a, b) => b.createdAt - a.createdAt);
const ctx = { site: "https://releases.example.com", now, downloads: () => 0, repository: { owner: "default", repo: "releases" }, releasesPath: "/releases" };

function time(label, fn, runs = 5) {
  let best = Infinity;
  let size = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    size = fn().length;
    best = Math.min(best, performance.now() - start);
  }
  console.log(`${label.padEnd(44)} ${best.toFixed(1).padStart(7)} ms  ${(size / 1024).toFixed(0).padStart(6)} KiB`);
}

console.log(`${count} packages`);
time("release model (grouping, SemVer order)", () => JSON.stringify(releaseModel([...packages]).releases.length), 3);
const model = releaseModel(packages);
time("GET / (landing page)", () => landingPage(model, ctx));
time("GET /releases (first page)", () => releasesPage(model, ctx, 1));
time("GET /releases/tag/unversioned (all assets)", () => releasePage(model, model.releases.at(-1), ctx));
time("GET /packages for browsers (first page)", () => packagesPage(packages, ctx));
