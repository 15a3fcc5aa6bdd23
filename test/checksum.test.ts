// Checksums a client states for its upload: hex or base64 in X-Checksum-Sha256
// or the sha256 form field, RFC 9530 Repr-Digest / Content-Digest.

import { createHash } from "node:crypto";
import t from "tap";
import { checkSha256, expectedSha256 } from "../src/checksum.js";

const digest = createHash("sha256").update("hello").digest();
const HEX = digest.toString("hex");
const B64 = digest.toString("base64");
const B64URL = digest.toString("base64url");
const OTHER = createHash("sha256").update("other").digest();

/** What `fn` throws, for matching its fields; null when it does not throw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return null;
}

const headers = (h: Record<string, string>) => new Headers(h);

t.test("no stated checksum", async (t) => {
  t.equal(expectedSha256(headers({}), { raw: true }), null);
  t.equal(expectedSha256(headers({ "content-digest": `sha-512=:${Buffer.alloc(64).toString("base64")}:` }), { raw: true }), null, "other algorithms are ignored");
});

t.test("the accepted forms all give lower-case hex", async (t) => {
  t.equal(expectedSha256(headers({ "x-checksum-sha256": HEX }), { raw: true }), HEX);
  t.equal(expectedSha256(headers({ "x-checksum-sha256": HEX.toUpperCase() }), { raw: true }), HEX);
  t.equal(expectedSha256(headers({ "x-checksum-sha256": `sha256:${HEX}` }), { raw: true }), HEX, "GitHub's digest form");
  t.equal(expectedSha256(headers({ "x-checksum-sha256": B64 }), { raw: true }), HEX);
  t.equal(expectedSha256(headers({ "x-checksum-sha256": B64URL }), { raw: true }), HEX, "base64url");
  t.equal(expectedSha256(headers({}), { raw: true, formField: ` ${HEX} ` }), HEX, "the form field");
  t.equal(expectedSha256(headers({}), { raw: false, formField: "" }), null, "an empty form field states nothing (HTML forms, Swagger UI send them)");
  t.equal(expectedSha256(headers({}), { raw: false, formField: "  " }), null);
  t.equal(expectedSha256(headers({ "repr-digest": `sha-256=:${B64}:` }), { raw: true }), HEX);
  t.equal(expectedSha256(headers({ "content-digest": `sha-512=:${Buffer.alloc(64).toString("base64")}:, sha-256=:${B64}:` }), { raw: true }), HEX);
});

t.test("agreeing statements are fine; disagreeing ones are a 400", async (t) => {
  t.equal(expectedSha256(headers({ "x-checksum-sha256": HEX, "repr-digest": `sha-256=:${B64}:` }), { raw: true, formField: HEX }), HEX);
  t.match(thrown(() => expectedSha256(headers({ "x-checksum-sha256": OTHER.toString("hex") }), { raw: true, formField: HEX })), { status: 400, detail: /form field and X-Checksum-Sha256 state different checksums/ });
});

t.test("malformed statements are a 400 that says what is expected", async (t) => {
  t.match(thrown(() => expectedSha256(headers({ "x-checksum-sha256": "abc" }), { raw: true })), { status: 400, detail: /X-Checksum-Sha256 header must be a SHA-256 digest in hex/ });
  t.match(thrown(() => expectedSha256(headers({}), { raw: true, formField: "not-a-digest" })), { status: 400, detail: /sha256 form field/ });
  t.match(thrown(() => expectedSha256(headers({ "x-checksum-sha256": Buffer.alloc(30).toString("base64") }), { raw: true })), { status: 400 }, "base64 of too few bytes");
  t.match(thrown(() => expectedSha256(headers({ "repr-digest": "sha-256=abc" }), { raw: true })), { status: 400, detail: /repr-digest header is malformed/ });
  t.match(thrown(() => expectedSha256(headers({ "content-digest": "sha-256=:AAAA:" }), { raw: true })), { status: 400, detail: /not a base64 SHA-256 digest/ });
});

t.test("digest headers describe the body, so they count only for raw uploads", async (t) => {
  t.equal(expectedSha256(headers({ "repr-digest": `sha-256=:${B64}:` }), { raw: false }), null);
  t.equal(expectedSha256(headers({ "content-digest": "malformed" }), { raw: false }), null, "not even parsed");
  t.equal(expectedSha256(headers({ "x-checksum-sha256": HEX }), { raw: false }), HEX);
});

t.test("checkSha256", async (t) => {
  t.doesNotThrow(() => checkSha256(null, HEX));
  t.doesNotThrow(() => checkSha256(HEX, HEX));
  t.match(thrown(() => checkSha256(HEX, OTHER.toString("hex"))), { status: 400, detail: /checksum mismatch.*nothing was stored/ });
});
