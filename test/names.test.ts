// Package names are one path segment inside STORAGE_PATH: every rejection rule
// from the issue, and names that must stay valid.

import t from "tap";
import { isValidName, nameProblem } from "../src/names.js";

t.test("rejected names, each with a reason", async (t) => {
  const rejected: [string, string, RegExp][] = [
    ["empty", "", /empty/],
    ["dot", ".", /not a file name/],
    ["dot dot", "..", /not a file name/],
    ["leading dot", ".hidden.zip", /start with a dot/],
    ["traversal", "../etc/passwd", /start with a dot/],
    ["slash", "a/b.zip", /\/ or \\/],
    ["backslash", "a\\b.zip", /\/ or \\/],
    ["NUL", "a\0b.zip", /control/],
    ["newline", "a\nb.zip", /control/],
    ["tab", "a\tb.zip", /control/],
    ["DEL", "a\x7fb.zip", /control/],
    ["C1 control", "a\u0085b.zip", /control/],
    ["checksum suffix", "pkg.zip.sha256", /\.sha256/],
    ["checksum suffix in upper case", "pkg.SHA256", /\.sha256/],
    ["leading space", " pkg.zip", /white space/],
    ["trailing space", "pkg.zip ", /white space/],
    ["249 bytes: its .sha256 sidecar would not fit 255", "a".repeat(249), /248 bytes/],
    ["256 bytes", "a".repeat(256), /248 bytes/],
    ["249 bytes of multi-byte characters", "é".repeat(124) + "a", /248 bytes/],
    ["right-to-left override", "invoice\u202egnp.exe", /bidirectional/],
    ["left-to-right isolate", "a\u2066b.zip", /bidirectional/],
    ["pop directional isolate", "a\u2069b.zip", /bidirectional/],
    ["right-to-left mark", "a\u200fb.zip", /bidirectional/],
    ["replacement character (invalid UTF-8, decoded)", "caf\ufffd.zip", /UTF-8/],
    ["lone surrogate", "pkg\ud800.zip", /Unicode/],
  ];
  for (const [what, name, why] of rejected) {
    t.match(nameProblem(name), why, what);
    t.equal(isValidName(name), false, what);
  }
});

t.test("accepted names", async (t) => {
  const accepted = [
    "spec-kit-template-claude-sh-v0.0.90.zip",
    "a",
    "pkg..zip",
    "v1.0.0.tar.gz",
    "naïve-paquet.zip",
    "日本語のパッケージ.zip",
    "emoji-📦.tar.gz",
    'odd <script>"&\'.zip',
    "with space.zip",
    "sha256.txt",
    "a".repeat(248),
    "é".repeat(124),
  ];
  for (const name of accepted) {
    t.equal(nameProblem(name), null, name);
    t.equal(isValidName(name), true, name);
  }
});
