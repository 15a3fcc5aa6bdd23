import t from "tap";
import { evaluatePreconditions, rangeStillValid, type Validators } from "../src/conditional.js";

const v: Validators = { etag: '"abc"', lastModified: new Date("2026-01-02T03:04:05.678Z") };
const at = (d: string) => new Date(d).toUTCString();
const check = (headers: Record<string, string>, method = "GET") => evaluatePreconditions(method, new Headers(headers), v);

t.test("without conditions the request proceeds", async (t) => {
  t.equal(check({}), "proceed");
});

t.test("If-None-Match", async (t) => {
  t.equal(check({ "if-none-match": '"abc"' }), "not-modified");
  t.equal(check({ "if-none-match": 'W/"abc"' }), "not-modified", "weak comparison");
  t.equal(check({ "if-none-match": '"x", "abc"' }), "not-modified", "a list");
  t.equal(check({ "if-none-match": "*" }), "not-modified");
  t.equal(check({ "if-none-match": '"other"' }), "proceed");
  t.equal(check({ "if-none-match": '"abc"' }, "DELETE"), "precondition-failed", "unsafe methods fail instead");
  t.equal(check({ "if-none-match": '"other"', "if-modified-since": at("2030-01-01") }), "proceed", "If-Modified-Since is ignored when If-None-Match is present");
});

t.test("If-Modified-Since compares whole seconds", async (t) => {
  t.equal(check({ "if-modified-since": at("2026-01-02T03:04:05Z") }), "not-modified");
  t.equal(check({ "if-modified-since": at("2026-01-02T03:04:04Z") }), "proceed");
  t.equal(check({ "if-modified-since": "not a date" }), "proceed");
  t.equal(check({ "if-modified-since": at("2030-01-01") }, "POST"), "proceed", "only for GET and HEAD");
});

t.test("If-Match", async (t) => {
  t.equal(check({ "if-match": '"abc"' }), "proceed");
  t.equal(check({ "if-match": "*" }), "proceed");
  t.equal(check({ "if-match": '"nope"' }), "precondition-failed");
  t.equal(check({ "if-match": 'W/"abc"' }), "precondition-failed", "strong comparison");
  t.equal(check({ "if-match": '"abc"', "if-unmodified-since": at("2000-01-01") }), "proceed", "If-Unmodified-Since is ignored when If-Match is present");
});

t.test("If-Unmodified-Since", async (t) => {
  t.equal(check({ "if-unmodified-since": at("2026-01-02T03:04:05Z") }), "proceed");
  t.equal(check({ "if-unmodified-since": at("2026-01-02T03:04:04Z") }), "precondition-failed");
});

t.test("If-Range", async (t) => {
  t.ok(rangeStillValid(new Headers(), v));
  t.ok(rangeStillValid(new Headers({ "if-range": '"abc"' }), v));
  t.notOk(rangeStillValid(new Headers({ "if-range": '"old"' }), v));
  t.notOk(rangeStillValid(new Headers({ "if-range": 'W/"abc"' }), v), "weak validators never match");
  t.ok(rangeStillValid(new Headers({ "if-range": at("2026-01-02T03:04:05Z") }), v));
  t.notOk(rangeStillValid(new Headers({ "if-range": at("2026-01-02T03:04:06Z") }), v));
  t.notOk(rangeStillValid(new Headers({ "if-range": "garbage" }), v));
});
