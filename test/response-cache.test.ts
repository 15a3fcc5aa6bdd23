// The response cache on its own: bytes kept with a strong ETag, 304 for a
// matching If-None-Match, HEAD without a body, and no answer built before a
// change ever stored after it.

import t from "tap";
import { answerResponse, cachedAnswerOf, cacheKey, keptReply, noneMatch, plainTarget, ResponseCache, servesAsIs, withKeptBody } from "../src/response-cache.js";

t.test("an answer is kept as bytes with a strong ETag and its length", async (t) => {
  const cache = new ResponseCache();
  const answer = await cache.store("k", cache.begin(), new Response('{"a":1}', { headers: { "content-type": "application/json" } }), "/r");
  t.match(answer.etag, /^"[0-9a-f]{32}"$/);
  t.same(Object.fromEntries(answer.headers), { "content-type": "application/json", etag: answer.etag, "content-length": "7" });
  t.equal(cache.get("k"), answer);
  const again = await cache.store("k2", cache.begin(), new Response('{"a":1}'), "/r");
  t.equal(again.etag, answer.etag, "the ETag is the bytes' own");
  const own = await cache.store("k3", cache.begin(), new Response("x", { headers: { etag: '"mine"' } }), "/r");
  t.equal(own.etag, '"mine"', "an ETag the handler chose is kept");
});

t.test("an answer built before a change is served once but never kept", async (t) => {
  const cache = new ResponseCache();
  const generation = cache.begin();
  cache.clear(); // an upload committed while the answer was being built
  const answer = await cache.store("k", generation, new Response("old"), "/r");
  t.equal(Buffer.from(answer.body).toString(), "old");
  t.equal(cache.get("k"), undefined);
});

t.test("the cache is bounded by count and by bytes: the oldest answer goes first", async (t) => {
  const cache = new ResponseCache(2);
  for (const k of ["a", "b", "c"]) await cache.store(k, cache.begin(), new Response(k), "/r");
  t.equal(cache.get("a"), undefined);
  t.ok(cache.get("b") && cache.get("c"));
  const small = new ResponseCache(100, 400);
  for (const k of ["a", "b", "c", "d"]) await small.store(k, small.begin(), new Response("x".repeat(100)), "/r");
  t.ok(small.get("a"), "four answers of 100 bytes fit in 400");
  await small.store("e", small.begin(), new Response("x".repeat(100)), "/r");
  t.equal(small.get("a"), undefined, "a fifth pushes the oldest out");
  await small.store("big", small.begin(), new Response("x".repeat(101)), "/r");
  t.equal(small.get("big"), undefined, "an answer over a quarter of the bound is served, not kept");
  await small.store("b", small.begin(), new Response("y"), "/r");
  t.equal(Buffer.from(small.get("b")!.body).toString(), "y", "storing a key again replaces it");
});

t.test("an answer is rebuilt once it is older than the maximum age", async (t) => {
  const cache = new ResponseCache(10, 1000, 30);
  await cache.store("k", cache.begin(), new Response("x"), "/r");
  t.ok(cache.get("k"));
  await new Promise((r) => setTimeout(r, 60));
  t.equal(cache.get("k"), undefined);
});

t.test("answers: 200 with the bytes, HEAD without, 304 when the client has it", async (t) => {
  const cache = new ResponseCache();
  const answer = await cache.store("k", cache.begin(), new Response("body", { headers: { "content-type": "text/plain" } }), "/r");
  const full = answerResponse(answer, "GET", null);
  t.equal(full.status, 200);
  t.equal(cachedAnswerOf(full), answer, "an adapter can write the kept bytes as they are");
  t.equal(await withKeptBody(full).text(), "body", "or send them as the body");
  t.equal(withKeptBody(new Response("other")).headers.get("etag"), null, "a response not from the cache is left as it is");
  const head = answerResponse(answer, "HEAD", null);
  t.equal(head.status, 200);
  t.equal(head.headers.get("content-length"), "4");
  t.equal(await withKeptBody(head).text(), "");
  const notModified = answerResponse(answer, "GET", `"other", W/${answer.etag}`);
  t.equal(notModified.status, 304);
  t.equal(notModified.headers.get("etag"), answer.etag);
  t.equal(notModified.headers.get("content-type"), null);
  t.ok(noneMatch("*", answer.etag));
  t.notOk(noneMatch(null, answer.etag));
});

t.test("a request target is taken as its own cache key only where the URL parser would leave it as it is", async (t) => {
  const targets = [
    "/latest", "/latest?", "/packages?format=json", "/repos/o/r/releases?per_page=5&page=2", "/assets/a%20b.zip", "/assets/a-1.0.0+build.zip",
    "/a/./b", "/a/../latest", "/a/%2e%2E/latest", "/.well-known", "/a?b?c", "/x/%2Ex", "/a/.b", "/a%2F..%2Fb", "/a?%2e%2e", "/a b", "/a?b c", "/a?x='1'", "/a#frag", "/a\\b", "/a?q=<x>", "/é", "/a//b", "/a?%zz",
  ];
  for (const target of targets) {
    const url = new URL(target, "http://h");
    const plain = plainTarget(target);
    if (plain !== undefined) t.equal(plain, url.pathname + url.search, `${target} is its own key`);
  }
  t.equal(plainTarget("/latest"), "/latest");
  t.equal(plainTarget("/latest?"), "/latest", "an empty query is no query, as for the URL parser");
  for (const target of ["/a/../latest", "/a/%2e%2E/latest", "/a b", "/a?x='1'", "/a#frag"]) t.equal(plainTarget(target), undefined, `${target} takes the ordinary path`);
});

t.test("kept package bytes: sent only to plain requests, and only while the store still holds them", async (t) => {
  const cache = new ResponseCache();
  let stored = true;
  let sent = 0;
  const key = cacheKey("/assets/a.zip", "http://h", null, null);
  cache.storePackage(key, cache.begin(), new Response(null, { headers: { etag: '"abc"', "content-type": "application/octet-stream" } }), new Uint8Array([1, 2, 3]), "/assets/:name", { valid: () => stored, onSent: () => sent++ });
  const answer = cache.get(key)!;
  t.equal(answer.route, "/assets/:name");
  t.same(Object.fromEntries(answer.headers)["content-length"], "3");
  const headers = (h: Record<string, string>) => (name: string) => h[name] ?? null;
  t.ok(servesAsIs(answer, headers({ accept: "*/*" })));
  for (const name of ["range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"]) t.notOk(servesAsIs(answer, headers({ [name]: "x" })), `not with ${name}`);
  t.equal(keptReply(answer, "HEAD", null).body, null);
  t.not(cacheKey("/assets/a.zip", "http://h", null, "token x"), key, "a token makes another key");
  stored = false;
  t.equal(cache.get(key), undefined, "bytes no longer stored are dropped");
  t.equal(sent, 0);
});
