import t from "tap";
import { evaluateRange } from "../src/range.js";

t.test("no Range header means the whole file", async (t) => {
  t.same(evaluateRange(null, 1000), { kind: "full" });
});

t.test("single ranges", async (t) => {
  t.same(evaluateRange("bytes=0-99", 1000), { kind: "partial", start: 0, end: 99 });
  t.same(evaluateRange("bytes=100-", 1000), { kind: "partial", start: 100, end: 999 });
  t.same(evaluateRange("bytes=990-2000", 1000), { kind: "partial", start: 990, end: 999 }, "end is clamped");
  t.same(evaluateRange("BYTES = 5 - 9", 1000), { kind: "partial", start: 5, end: 9 }, "unit and spaces are lenient");
});

t.test("suffix ranges are the last N bytes, not the first (sirv's bug)", async (t) => {
  t.same(evaluateRange("bytes=-500", 1000), { kind: "partial", start: 500, end: 999 });
  t.same(evaluateRange("bytes=-5000", 1000), { kind: "partial", start: 0, end: 999 }, "longer than the file: all of it");
  t.same(evaluateRange("bytes=-0", 1000), { kind: "unsatisfiable" });
});

t.test("unsatisfiable ranges", async (t) => {
  t.same(evaluateRange("bytes=1000-", 1000), { kind: "unsatisfiable" });
  t.same(evaluateRange("bytes=5000-6000", 1000), { kind: "unsatisfiable" });
  t.same(evaluateRange("bytes=0-", 0), { kind: "unsatisfiable" }, "nothing is satisfiable in an empty file");
});

t.test("several ranges are answered with the whole file", async (t) => {
  t.same(evaluateRange("bytes=0-1,5-9", 1000), { kind: "full" });
});

t.test("invalid headers are ignored", async (t) => {
  for (const h of ["bytes=9-5", "bytes=-", "bytes=a-b", "items=0-5", "bytes=", "0-5"]) {
    t.same(evaluateRange(h, 1000), { kind: "full" }, h);
  }
});
