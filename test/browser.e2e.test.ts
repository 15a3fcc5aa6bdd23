// The pages in a real browser: Debian's Chromium, headless, driven by
// playwright-core. Every page loads without console errors or CSP violations,
// on a desktop and a 390 px phone, light and dark, without sideways scrolling;
// names a user chose show as text; the filter narrows the list; the copy
// button copies the digest; /docs "Try it out" uploads with the token and
// downloads. Screenshots go to test-output/screenshots/.

import t from "tap";
import type { Browser, Page } from "playwright-core";
import { contextFor, DESKTOP, launch, PHONE, screenshot, scrollsSideways, watchedPage } from "./helpers/browser.js";
import { bytesFor, sha256, templateNames, upload } from "./helpers/releases.js";
import { serverFor } from "./helpers/server.js";

const EVIL = "<img src=x onerror=alert(1)>.zip";

t.test("the pages in Chromium", async (t) => {
  const server = await serverFor(t, { env: { MAX_PACKAGES: "0", DEFAULT_REPOSITORY: "octo/tools" } });
  const agents = ["claude", "gemini", "copilot"];
  for (const name of [...templateNames("v0.0.89", agents), ...templateNames("v0.0.90", agents), "tool-v1.0.0-rc.1.tar.gz", EVIL, "notes.txt"]) {
    await upload(server, name);
  }
  t.teardown(() => { if (server.proc.exitCode !== null || server.proc.signalCode !== null) console.error(`server ended: ${server.proc.exitCode ?? server.proc.signalCode}\n${server.output().slice(-3000)}`); });
  const browser: Browser = await launch();
  t.teardown(() => browser.close());

  const load = async (page: Page, path: string) => {
    const res = await page.goto(`${server.url}${path}`, { waitUntil: "networkidle", timeout: 30_000 });
    t.equal(res?.status(), 200, `${path} loads`);
    if (path === "/docs") await page.waitForSelector(".opblock", { timeout: 30_000 });
  };

  await t.test("every page: no console errors, no CSP violations, no sideways scrolling; screenshots", async (t) => {
    const pages: [string, string][] = [
      ["home", "/"],
      ["releases", "/releases"],
      ["release", "/releases/tag/v0.0.90"],
      ["repository", "/octo/tools/releases"],
      ["packages", "/packages"],
      ["docs", "/docs"],
    ];
    for (const viewport of [DESKTOP, PHONE]) {
      for (const scheme of ["light", "dark"] as const) {
        const context = await contextFor(browser, viewport, scheme, server.url);
        for (const [name, path] of pages) {
          const { page, problems } = await watchedPage(context);
          await load(page, path);
          t.same(problems, [], `${path} on ${viewport.name}, ${scheme}: no console errors or CSP violations`);
          t.notOk(await scrollsSideways(page), `${path} on ${viewport.name}, ${scheme}: no sideways scrolling`);
          await screenshot(page, `${name}-${viewport.name}-${scheme}`);
          await page.close();
        }
        await context.close();
      }
    }
  });

  await t.test("a name a user chose shows as text, and runs nothing", async (t) => {
    const context = await contextFor(browser, DESKTOP, "light", server.url);
    t.teardown(() => context.close());
    for (const path of ["/", "/releases/tag/unversioned", "/packages"]) {
      const { page, problems } = await watchedPage(context);
      await load(page, path);
      t.ok(await page.locator(`tr[data-name] a:text-is("${EVIL}")`).count(), `${path}: the name is a link's text`);
      t.equal(await page.locator('img[src="x"]').count(), 0, `${path}: no element made from the name`);
      t.same(problems, [], `${path}: no alert, no errors`);
      await page.close();
    }
  });

  await t.test("release notes with a <script>, written through the API, show as text", async (t) => {
    const notes = "## Fixed\n\n- `upload` no longer <script>alert(1)</script> hangs\n\n<img src=x onerror=alert(2)>";
    const created = await fetch(`${server.url}/repos/octo/tools/releases`, {
      method: "POST",
      headers: { ...server.auth, "content-type": "application/json" },
      body: JSON.stringify({ tag_name: "v9.0.0", name: "Notes <b>test</b>", body: notes }),
    });
    t.equal(created.status, 201, "a release with notes, as gh release create --notes makes it");
    const context = await contextFor(browser, DESKTOP, "light", server.url);
    t.teardown(() => context.close());
    const { page, problems } = await watchedPage(context);
    await load(page, "/releases/tag/v9.0.0");
    t.equal(await page.locator(".notes h2").textContent(), "Fixed", "Markdown is rendered");
    t.match(await page.locator(".notes li").textContent(), "no longer <script>alert(1)</script> hangs", "the script shows as text");
    t.equal(await page.locator(".notes script, .notes img, b").count(), 0, "no element made from the notes or the name");
    t.match(await page.content(), "Notes &lt;b&gt;test&lt;/b&gt;", "the release's name is escaped too");
    t.same(problems, [], "no alert, no errors, no CSP violations");
    await screenshot(page, "release-notes-desktop-light");
    await page.close();
  });

  await t.test("the filter narrows releases and assets as you type, from the keyboard", async (t) => {
    const context = await contextFor(browser, DESKTOP, "light", server.url);
    t.teardown(() => context.close());
    const { page } = await watchedPage(context);
    await load(page, "/releases");
    const visibleRows = () => page.locator("tr[data-name]:visible").allTextContents();
    const all = await page.locator("tr[data-name]").count();
    await page.keyboard.press("/");
    t.ok(await page.locator("#filter").evaluate((el) => el === document.activeElement), '"/" focuses the filter');
    await page.keyboard.type("claude-ps");
    const rows = await visibleRows();
    t.equal(rows.length, 2, "one claude-ps template per release");
    t.ok(rows.every((r) => r.includes("claude-ps")), "only matching assets");
    t.match(await page.locator("#filter-count").textContent(), `2 of ${all} packages`);
    await page.locator("#filter").fill("v0.0.89");
    await page.locator("#filter").dispatchEvent("input");
    const sections = await page.locator("section.release:visible .tag").allTextContents();
    t.same(sections, ["v0.0.89"], "a tag narrows to its release, opened");
    t.equal((await visibleRows()).length, 6, "with all its assets");
    await page.keyboard.press("Escape");
    t.equal(await page.locator("#filter").inputValue(), "", "Escape clears");
    t.equal(await page.locator("section.release:visible").count(), await page.locator("section.release").count(), "every release is back");
    await page.close();
  });

  await t.test("the copy button copies the digest", async (t) => {
    const context = await contextFor(browser, DESKTOP, "light", server.url);
    t.teardown(() => context.close());
    const { page, problems } = await watchedPage(context);
    await load(page, "/releases/tag/v0.0.90");
    const row = page.locator('tr[data-name="spec-kit-template-claude-sh-v0.0.90.zip"]');
    await row.locator("button.copy").click();
    await page.waitForFunction(() => document.querySelector('tr[data-name="spec-kit-template-claude-sh-v0.0.90.zip"] button.copy')?.textContent === "Copied");
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    t.equal(copied, sha256(bytesFor("spec-kit-template-claude-sh-v0.0.90.zip")), "the whole SHA-256, as the server stores it");
    await page.locator(".usage button.copy").first().click();
    t.equal(await page.evaluate(() => navigator.clipboard.readText()), `specify init my-project --template-url ${server.url}/releases/tags/v0.0.90`);
    t.same(problems, []);
    await page.close();
  });

  await t.test("/docs: Try it out uploads with the token, then downloads", async (t) => {
    const context = await contextFor(browser, DESKTOP, "light", server.url);
    t.teardown(() => context.close());
    const { page, problems } = await watchedPage(context);
    await load(page, "/docs");
    await page.locator("button.authorize").first().click();
    await page.locator(".modal-ux input").first().fill(server.auth.authorization.replace("Bearer ", ""));
    await page.locator(".modal-ux button.authorize").click();
    await page.locator(".modal-ux button.btn-done").click();

    const operation = (method: string, path: string) => page.locator(`.opblock-${method}:has(.opblock-summary-path[data-path="${path}"])`).first();
    const post = operation("post", "/upload");
    await post.locator(".opblock-summary").click();
    await post.locator(".try-out__btn").click();
    const bytes = Buffer.from("uploaded from Swagger UI");
    await post.locator('input[type="file"]').setInputFiles({ name: "from-docs-v2.0.0.zip", mimeType: "application/zip", buffer: bytes });
    // Swagger UI fills optional text fields with "string"; a verified upload states the real digest.
    await post.locator('tr[data-property-name="sha256"] input[type="text"]').fill(sha256(bytes));
    await post.locator("button.execute").click();
    const status = post.locator(".live-responses-table tbody .response-col_status").first();
    await status.waitFor({ timeout: 30_000 });
    t.equal((await status.textContent())?.trim(), "200", "the upload was accepted");
    const stored = await (await fetch(`${server.url}/assets/from-docs-v2.0.0.zip`)).text();
    t.equal(stored, "uploaded from Swagger UI", "the server stored the bytes");

    const get = operation("get", "/assets/{filename}");
    await get.locator(".opblock-summary").click();
    await get.locator(".try-out__btn").click();
    await get.locator('tr[data-param-name="filename"] input').fill("from-docs-v2.0.0.zip");
    await get.locator("button.execute").click();
    const got = get.locator(".live-responses-table tbody .response-col_status").first();
    await got.waitFor({ timeout: 30_000 });
    t.equal((await got.textContent())?.trim(), "200", "the download answered");
    await screenshot(page, "docs-try-it-out-desktop-light");
    t.same(problems, [], "no console errors or CSP violations while trying");
    await page.close();
  });
});
