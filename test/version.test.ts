import t from "tap";
import { compareVersions, parseName, parseVersion, splitExtension, type Version } from "../src/version.js";

const v = (text: string): Version => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`not a version: ${text}`);
  return parsed;
};

t.test("parses <family>-v<semver>.<ext>", async (t) => {
  t.match(parseName("spec-kit-template-claude-sh-v0.0.90.zip"), {
    family: "spec-kit-template-claude-sh",
    version: { major: 0, minor: 0, patch: 90, prerelease: [], build: [], text: "0.0.90" },
    tag: "v0.0.90",
    extension: ".zip",
  });
});

t.test("parses <family>-<semver>.<ext> without the v; the tag is as written", async (t) => {
  t.match(parseName("tool-1.2.3.zip"), { family: "tool", tag: "1.2.3", version: { text: "1.2.3" } });
});

t.test("_ works as the separator", async (t) => {
  t.match(parseName("my_tool_v2.0.1.zip"), { family: "my_tool", tag: "v2.0.1" });
  t.match(parseName("my-tool_2.0.1.zip"), { family: "my-tool", tag: "2.0.1" });
});

t.test("prerelease and build parts", async (t) => {
  t.match(parseName("tool-v1.2.0-rc.1+build.5.zip"), {
    family: "tool",
    tag: "v1.2.0-rc.1+build.5",
    version: { prerelease: ["rc", "1"], build: ["build", "5"], text: "1.2.0-rc.1+build.5" },
    extension: ".zip",
  });
  t.match(parseName("tool-1.0.0-alpha-2.zip"), { family: "tool", version: { prerelease: ["alpha-2"] } });
  t.match(parseName("tool-1.0.0-beta.zip"), { family: "tool", version: { prerelease: ["beta"] }, extension: ".zip" });
});

t.test("multi-part extensions", async (t) => {
  t.match(parseName("tool-v1.2.3.tar.gz"), { family: "tool", tag: "v1.2.3", extension: ".tar.gz" });
  t.match(parseName("tool-v1.2.3-rc.1.tar.xz"), { family: "tool", version: { prerelease: ["rc", "1"] }, extension: ".tar.xz" });
  t.match(parseName("tool-1.0.0.7z"), { family: "tool", extension: ".7z" });
  t.same(splitExtension("archive.tar"), { stem: "archive", extension: ".tar" });
  t.same(splitExtension("tool-1.2.3"), { stem: "tool-1.2.3", extension: "" });
});

t.test("a name with no extension can still carry a version", async (t) => {
  t.match(parseName("tool-v1.2.3"), { family: "tool", tag: "v1.2.3", extension: "" });
  t.match(parseName("tool-1.2.3-beta"), { family: "tool", version: { prerelease: ["beta"] } });
});

t.test("the last version in the name is the version", async (t) => {
  t.match(parseName("tool-1.0.0-linux-2.0.0.zip"), { family: "tool-1.0.0-linux", tag: "2.0.0" });
});

t.test("names without a version are their own family", async (t) => {
  for (const name of ["notes.txt", "tool.zip", "tool-v1.2.zip", "tool-01.2.3.zip", "tool-1.2.3.4.zip", "v1.2.3.zip", "tool1.2.3.zip", "tool-latest.tar.gz"]) {
    const p = parseName(name);
    t.equal(p.version, null, name);
    t.equal(p.tag, null, name);
    t.equal(p.family, name, name);
  }
});

t.test("parseVersion", async (t) => {
  t.match(parseVersion("v1.2.3"), { major: 1, minor: 2, patch: 3, text: "1.2.3" });
  t.equal(parseVersion("1.2"), null);
  t.equal(parseVersion("1.2.3-"), null);
  t.equal(parseVersion("1.2.3-01"), null, "numeric prerelease identifiers have no leading zeros");
});

t.test("ordering follows SemVer precedence, not string order", async (t) => {
  t.ok(compareVersions(v("0.0.10"), v("0.0.9")) > 0, "v0.0.10 > v0.0.9");
  t.ok(compareVersions(v("0.10.0"), v("0.9.99")) > 0);
  t.ok(compareVersions(v("10.0.0"), v("9.0.0")) > 0);
  t.ok(compareVersions(v("1.0.0-rc.1"), v("1.0.0")) < 0, "prerelease < release");
  t.ok(compareVersions(v("1.0.0"), v("1.0.0-rc.1")) > 0);
  t.ok(compareVersions(v("1.0.0-rc.1"), v("0.9.9")) > 0);
  t.equal(compareVersions(v("1.0.0+build.1"), v("1.0.0+build.2")), 0, "build metadata is ignored");
  t.equal(compareVersions(v("1.0.0+x"), v("1.0.0")), 0);
  // The SemVer spec's own example chain.
  const chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"];
  for (let i = 0; i + 1 < chain.length; i++) {
    t.ok(compareVersions(v(chain[i]), v(chain[i + 1])) < 0, `${chain[i]} < ${chain[i + 1]}`);
    t.ok(compareVersions(v(chain[i + 1]), v(chain[i])) > 0, `${chain[i + 1]} > ${chain[i]}`);
  }
  t.ok(compareVersions(v("1.0.0-rc.100"), v("1.0.0-rc.99")) > 0, "numeric identifiers compare as numbers");
  t.ok(compareVersions(v("1.0.0-12345678901234567890"), v("1.0.0-12345678901234567891")) < 0, "big numeric identifiers");
  t.equal(compareVersions(v("1.0.0-rc.1"), v("1.0.0-rc.1")), 0);
  const shuffled = ["0.0.9", "0.0.10", "0.0.2", "0.1.0", "0.0.10-rc.1"].map(v).sort(compareVersions).map((x) => x.text);
  t.same(shuffled, ["0.0.2", "0.0.9", "0.0.10-rc.1", "0.0.10", "0.1.0"]);
});
