import t from "tap";
import { cacheControlFor } from "../src/cache-policy.js";

t.test("versioned packages may be cached by shared caches", async (t) => {
  for (const name of ["spec-kit-template-claude-sh-v0.0.90.zip", "tool_1.2.3.tar.gz", "app-2.0.0-rc.1.zip", "lib_1.4.0.tgz"]) {
    t.match(cacheControlFor(name), /^public, max-age=\d+$/, name);
  }
});

t.test("unversioned packages are revalidated every time", async (t) => {
  for (const name of ["installer.sh", "latest.zip", "notes.txt", "lib-1.4.tgz"]) t.equal(cacheControlFor(name), "public, no-cache", name);
});
