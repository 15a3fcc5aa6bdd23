// The method + path table: static and parameter routes, percent-decoding
// exactly once, 405 with the allowed methods, 404 for anything else.

import t from "tap";
import { Router } from "../src/router.js";

const router = () =>
  new Router<string>()
    .add("GET", "/health", "health")
    .add("GET", "/packages", "list")
    .add("DELETE", "/packages/:name", "delete")
    .add("GET", "/assets/:name", "download")
    .add("delete", "/assets/:name", "delete-asset")
    .add("POST", "/upload", "upload");

t.test("static routes match their exact path and method", async (t) => {
  t.same(router().match("GET", "/health"), { kind: "found", handler: "health", params: {} });
  t.same(router().match("POST", "/upload"), { kind: "found", handler: "upload", params: {} });
  t.same(router().match("GET", "/health/"), { kind: "not-found" }, "a trailing slash is another path");
  t.same(router().match("GET", "/healthz"), { kind: "not-found" });
});

t.test("parameter routes capture one segment", async (t) => {
  t.same(router().match("GET", "/assets/a.zip"), { kind: "found", handler: "download", params: { name: "a.zip" } });
  t.same(router().match("DELETE", "/packages/a.zip"), { kind: "found", handler: "delete", params: { name: "a.zip" } });
  t.same(router().match("DELETE", "/assets/a.zip"), { kind: "found", handler: "delete-asset", params: { name: "a.zip" } }, "methods are case-insensitive when added");
  t.same(router().match("GET", "/assets/a/b.zip"), { kind: "not-found" }, "a parameter never spans two segments");
  t.same(router().match("GET", "/assets"), { kind: "not-found" });
  t.same(router().match("GET", "/assets/"), { kind: "found", handler: "download", params: { name: "" } }, "an empty segment is handed to the route to reject");
});

t.test("parameters are percent-decoded exactly once", async (t) => {
  const name = (path: string) => {
    const m = router().match("GET", path);
    return m.kind === "found" ? m.params.name : m.kind;
  };
  t.equal(name("/assets/na%C3%AFve%20pkg.zip"), "naïve pkg.zip");
  t.equal(name("/assets/..%2Fetc%2Fpasswd"), "../etc/passwd", "%2F stays inside the segment and decodes to /");
  t.equal(name("/assets/a%252Fb"), "a%2Fb", "a double-encoded slash is decoded only once");
  t.equal(name("/assets/%2e%2e"), "..");
  t.equal(name("/assets/bad%zz"), "bad-path");
  t.equal(name("/assets/%C3"), "bad-path", "a truncated UTF-8 sequence is not valid percent-encoding");
});

t.test("a known path with the wrong method lists the allowed methods", async (t) => {
  t.same(router().match("POST", "/packages"), { kind: "method-not-allowed", allow: ["GET", "HEAD"] });
  t.same(router().match("PUT", "/assets/a.zip"), { kind: "method-not-allowed", allow: ["DELETE", "GET", "HEAD"] });
  t.same(router().match("GET", "/upload"), { kind: "method-not-allowed", allow: ["POST"] });
  t.same(router().match("POST", "/packages/a.zip"), { kind: "method-not-allowed", allow: ["DELETE"] });
});

t.test("HEAD is answered by the GET route", async (t) => {
  t.same(router().match("HEAD", "/assets/a.zip"), { kind: "found", handler: "download", params: { name: "a.zip" } });
  t.same(router().match("HEAD", "/upload"), { kind: "method-not-allowed", allow: ["POST"] });
});

t.test("anything else is not found", async (t) => {
  t.same(router().match("GET", "/"), { kind: "not-found" });
  t.same(router().match("GET", "/nope"), { kind: "not-found" });
  t.same(router().match("DELETE", "/packages/a/b"), { kind: "not-found" });
});
