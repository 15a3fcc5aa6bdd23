// Package bodies as web streams: what the Bun and Deno adapters send (the
// Node adapter takes the reader directly). Ranges, errors, cancelling.

import t from "tap";
import { packageBodyOf, packageResponse } from "../src/package-body.js";
import type { PackageReader } from "../src/store/index.js";

const BYTES = Buffer.from(Array.from({ length: 600 * 1024 }, (_, i) => i % 251));

/** A reader over BYTES in 100 KiB chunks that records whether it was closed. */
function readerOf(bytes: Buffer, failAt = Infinity) {
  const state = { closed: 0 };
  const reader: PackageReader = {
    entry: { name: "f.bin", size: bytes.length, sha256: "0".repeat(64), createdAt: new Date() },
    async *read(start, end) {
      for (let p = start; p <= end; p += 100 * 1024) {
        if (p >= failAt) throw new Error("the package ended before its indexed size");
        yield bytes.subarray(p, Math.min(end + 1, p + 100 * 1024));
      }
    },
    async close() {
      state.closed++;
    },
  };
  return { reader, state };
}

t.test("the whole package, then onComplete, then the reader is closed", async (t) => {
  const { reader, state } = readerOf(BYTES);
  let completed = 0;
  const res = packageResponse({ reader, start: 0, end: BYTES.length - 1, onComplete: () => completed++ }, { headers: { "x-a": "b" } });
  t.equal(res.headers.get("x-a"), "b");
  t.equal(packageBodyOf(res)?.reader, reader, "the Node adapter can take the reader itself");
  t.ok(Buffer.from(await res.arrayBuffer()).equals(BYTES));
  t.equal(completed, 1);
  t.equal(state.closed, 1);
});

t.test("a byte range; an empty range", async (t) => {
  const res = packageResponse({ reader: readerOf(BYTES).reader, start: 1000, end: 300_000 }, {});
  t.ok(Buffer.from(await res.arrayBuffer()).equals(BYTES.subarray(1000, 300_001)));
  t.equal((await packageResponse({ reader: readerOf(BYTES).reader, start: 0, end: -1 }, {}).arrayBuffer()).byteLength, 0);
});

t.test("a failing read is an error, not a short body, and closes the reader", async (t) => {
  const { reader, state } = readerOf(BYTES, 200 * 1024);
  let completed = false;
  const res = packageResponse({ reader, start: 0, end: BYTES.length - 1, onComplete: () => (completed = true) }, {});
  await t.rejects(res.arrayBuffer(), /ended before/);
  t.equal(state.closed, 1);
  t.notOk(completed);
});

t.test("cancelling closes the reader; an unfinished body is not complete", async (t) => {
  const { reader, state } = readerOf(BYTES);
  let completed = false;
  const res = packageResponse({ reader, start: 0, end: BYTES.length - 1, onComplete: () => (completed = true) }, {});
  const body = res.body!.getReader();
  await body.read();
  await body.cancel();
  t.equal(state.closed, 1);
  t.notOk(completed);
});

t.test("a response that is not a package", async (t) => {
  t.equal(packageBodyOf(new Response("x")), undefined);
});
