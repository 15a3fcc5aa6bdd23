// The pages as HTML, without a server: escaping, badges, notes rendered from
// Markdown safely, sizes and dates for people, the usage commands, paging.

import t from "tap";
import { releaseModel } from "../src/releases.js";
import type { PackageEntry } from "../src/store/index.js";
import { exactTime, formatSize, plural, relativeTime } from "../src/views/format.js";
import { loadMarkdown, renderMarkdown } from "../src/views/markdown.js";
import { ASSETS_IN_LIST, landingPage, packagesPage, releasePage, releasesPage, RELEASES_PER_PAGE, type PageContext } from "../src/views/pages.js";
import { badges, releaseSection } from "../src/views/release.js";
import { shellQuote, usageCommands } from "../src/views/usage.js";

const now = new Date("2026-01-10T12:00:00Z");
const entry = (name: string, i = 0, size = 2048): PackageEntry => ({
  name,
  size,
  sha256: (i % 16).toString(16).repeat(64),
  createdAt: new Date(now.getTime() - (i + 1) * 3_600_000),
});
const ctx: PageContext = {
  site: "https://releases.example.com",
  now,
  downloads: () => 7,
  repository: { owner: "default", repo: "releases" },
  releasesPath: "/releases",
};

t.test("formatSize, plural, times", async (t) => {
  t.equal(formatSize(0), "0 B");
  t.equal(formatSize(1023), "1023 B");
  t.equal(formatSize(1536), "1.5 KiB");
  t.equal(formatSize(200 * 2 ** 20), "200.0 MiB");
  t.equal(formatSize(3 * 2 ** 50), "3072.0 TiB", "TiB is the largest unit");
  t.equal(plural(1, "asset"), "1 asset");
  t.equal(plural(10000, "asset"), "10,000 assets");
  t.equal(exactTime(new Date("2024-05-06T07:08:09.123Z")), "2024-05-06 07:08 UTC");
  const ago = (s: number) => relativeTime(new Date(now.getTime() - s * 1000), now);
  t.equal(ago(-30), "just now", "a time in the future (clock skew)");
  t.equal(ago(5), "just now");
  t.equal(ago(45), "45 seconds ago");
  t.equal(ago(60), "1 minute ago");
  t.equal(ago(3 * 3600), "3 hours ago");
  t.equal(ago(86400), "1 day ago");
  t.equal(ago(40 * 86400), "1 month ago");
  t.equal(ago(800 * 86400), "2 years ago");
});

t.test("release notes: Markdown rendered, raw HTML and script links are text", async (t) => {
  await loadMarkdown(); // pages load it when a release has notes
  const html = renderMarkdown("# Changes\n\n- **fast** `code`\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) [ok](https://example.com)");
  t.match(html, "<h1>Changes</h1>");
  t.match(html, "<strong>fast</strong>");
  t.match(html, "<code>code</code>");
  t.notMatch(html, /<script/i, "no script element");
  t.notMatch(html, /<img/i, "no img element");
  t.match(html, "&lt;script&gt;alert(1)&lt;/script&gt;", "the script shows as text");
  t.notMatch(html, /href="javascript:/i, "javascript: links are not links");
  t.match(html, '<a href="https://example.com" rel="nofollow noopener noreferrer">ok</a>');
  const model = releaseModel([entry("a-v1.0.0.zip")]);
  const section = releaseSection({ release: model.releases[0], isLatest: true, notes: "Fixes <script>alert(1)</script>" }, { ...ctx, pageHref: "/releases/tag/v1.0.0", open: true });
  t.match(section, '<div class="notes"><p>Fixes &lt;script&gt;alert(1)&lt;/script&gt;</p>');
});

t.test("badges: Latest, Pre-release, Draft", async (t) => {
  const model = releaseModel([entry("a-v1.0.0.zip"), entry("a-v2.0.0-rc.1.zip", 1)]);
  const [rc, stable] = model.releases;
  t.equal(badges({ release: stable, isLatest: true }), '<span class="badge latest">Latest</span>');
  t.equal(badges({ release: rc, isLatest: false }), '<span class="badge pre">Pre-release</span>');
  t.equal(badges({ release: rc, isLatest: false, draft: true }), '<span class="badge draft">Draft</span> <span class="badge pre">Pre-release</span>');
  const page = releasesPage(model, ctx, 1);
  t.match(page, /v1\.0\.0<\/a><\/h2> <span class="badge latest">Latest<\/span>/, "the release the latest view is tagged with is Latest");
  t.match(page, /2\.0\.0-rc\.1<\/a><\/h2> <span class="badge pre">Pre-release<\/span>/);
  t.ok(page.indexOf(">v2.0.0-rc.1</a>") < page.indexOf(">v1.0.0</a>"), "newest version first");
});

t.test("everything a user controls is escaped", async (t) => {
  const evil = '<img src=x onerror=alert(1)>"\'-v1.0.0.zip';
  const model = releaseModel([entry(evil)]);
  for (const html of [landingPage(model, ctx), releasesPage(model, ctx, 1), releasePage(model, model.releases[0], ctx), packagesPage([entry(evil)], ctx)]) {
    t.notMatch(html, /<img src=x/, "no element from the name");
    t.match(html, "&#60;img src=x onerror=alert(1)&#62;&#34;&#39;-v1.0.0.zip");
  }
  const owner = releasesPage(model, { ...ctx, repository: { owner: "<b>o", repo: "r&" }, releasesPath: "/%3Cb%3Eo/r%26/releases" }, 1);
  t.match(owner, "&#60;b&#62;o/r&#38;");
  t.notMatch(owner, "<b>o");
});

t.test("assets: size, dates, downloads, short digest with copy button, download link", async (t) => {
  const model = releaseModel([entry("a b&-v1.0.0.zip", 0, 5 * 2 ** 20)]);
  const html = releasePage(model, model.releases[0], ctx);
  t.match(html, '<a href="https://releases.example.com/assets/a%20b%26-v1.0.0.zip" download>a b&#38;-v1.0.0.zip</a>');
  t.match(html, "5.0 MiB");
  t.match(html, '<time datetime="2026-01-10T11:00:00.000Z" title="2026-01-10 11:00 UTC">1 hour ago</time>');
  t.match(html, '<td class="n" data-label="Downloads">7</td>');
  t.match(html, `<code title="${"0".repeat(64)}">${"0".repeat(12)}…</code>`);
  t.match(html, `data-copy="${"0".repeat(64)}"`);
  t.match(html, 'href="/releases/download/v1.0.0/SHA256SUMS"', "SHA256SUMS linked");
  t.match(html, "← All releases");
});

t.test("usage commands use the page's public URL", async (t) => {
  const model = releaseModel([entry("tool-v1.0.0.zip", 1), entry("it's-v1.0.0.zip")]);
  const latest = usageCommands("https://r.example", model.latest, ctx.repository);
  t.same(
    latest.map((c) => c.command),
    [
      "specify init my-project --template-url https://r.example/latest",
      "curl -LO https://r.example/releases/latest/download/it's-v1.0.0.zip\ncurl -LO https://r.example/releases/latest/download/SHA256SUMS\nsha256sum -c --ignore-missing SHA256SUMS",
      "GH_HOST=r.example GH_ENTERPRISE_TOKEN=read gh release download -R default/releases -p 'it'\\''s-v1.0.0.zip'",
    ],
  );
  const tagged = usageCommands("http://127.0.0.1:8000", model.releases[0], { owner: "o", repo: "r" });
  t.match(tagged[0].command, "--template-url http://127.0.0.1:8000/releases/tags/v1.0.0");
  t.match(tagged[1].command, "http://127.0.0.1:8000/releases/download/v1.0.0/SHA256SUMS");
  t.match(tagged[2].command, "gh release download v1.0.0 -R o/r");
  t.equal(shellQuote("a-b_1.zip"), "a-b_1.zip");
  t.equal(shellQuote("a b"), "'a b'");
});

t.test("empty states", async (t) => {
  const empty = releaseModel([]);
  t.match(landingPage(empty, ctx), "No releases yet.");
  t.match(releasesPage(empty, ctx, 1), "No releases yet.");
  t.match(packagesPage([], ctx), "No packages yet.");
});

t.test("10,000 packages: pages stay bounded (paging, capped lists, collapsed older releases)", async (t) => {
  const packages: PackageEntry[] = [];
  for (let v = 0; v < 300; v++) for (let a = 0; a < 32; a++) packages.push(entry(`tpl-${a}-v1.${v}.0.zip`, packages.length));
  for (let i = 0; packages.length < 10_000; i++) packages.push(entry(`loose-${i}.txt`, packages.length));
  const model = releaseModel(packages);
  const rows = (html: string) => html.split("<tr data-name=").length - 1;
  const first = releasesPage(model, ctx, 1);
  t.equal(rows(first), RELEASES_PER_PAGE * 32, "one page of releases");
  t.equal(first.split("<details open>").length - 1, 3, "only the newest releases are expanded");
  t.match(first, 'href="/releases?page=2" rel="next"');
  t.match(first, "Page 1 of 31");
  const last = releasesPage(model, ctx, 99);
  t.match(last, "Page 31 of 31", "a page past the end shows the last");
  t.match(last, "Unversioned packages");
  t.match(last, `All 400 assets of unversioned →`);
  t.ok(rows(last) <= ASSETS_IN_LIST, "a release in a list shows at most ASSETS_IN_LIST assets");
  t.ok(rows(landingPage(model, ctx)) <= ASSETS_IN_LIST + RELEASES_PER_PAGE * ASSETS_IN_LIST);
  const flat = packagesPage(packages, ctx);
  t.equal(rows(flat), 1000, "the older flat list, a thousand packages a page");
  t.match(flat, "Page 1 of 10");
  t.match(packagesPage(packages, ctx, 10), 'href="/packages?page=9" rel="prev"');
});
