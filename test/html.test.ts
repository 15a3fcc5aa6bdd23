// The package list page: sizes for people, links, the empty state.

import t from "tap";
import { formatSize, renderPackageList } from "../src/html.js";

t.test("formatSize", async (t) => {
  t.equal(formatSize(0), "0 B");
  t.equal(formatSize(1023), "1023 B");
  t.equal(formatSize(1024), "1.0 KiB");
  t.equal(formatSize(1536), "1.5 KiB");
  t.equal(formatSize(200 * 2 ** 20), "200.0 MiB");
  t.equal(formatSize(5 * 2 ** 30), "5.0 GiB");
  t.equal(formatSize(3 * 2 ** 50), "3072.0 TiB", "TiB is the largest unit");
});

t.test("renderPackageList", async (t) => {
  t.match(renderPackageList([], "http://h"), "<p>No packages yet.</p>");
  const page = renderPackageList(
    [{ name: "a b&.zip", size: 2048, sha256: "ab".repeat(32), createdAt: new Date("2024-05-06T07:08:09.123Z") }],
    "https://releases.example.com",
  );
  t.match(page, '<a href="https://releases.example.com/assets/a%20b%26.zip" download>a b&#38;.zip</a>');
  t.match(page, "2.0 KiB");
  t.match(page, '<time datetime="2024-05-06T07:08:09.123Z">2024-05-06 07:08:09 UTC</time>');
  t.match(page, "1 package, newest first");
});
