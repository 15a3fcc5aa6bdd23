// The response cache on its own: bytes kept with a strong ETag, 304 for a
// matching If-None-Match, HEAD without a body, and no answer built before a
// change ever stored after it.

import t from "tap";
import { answerResponse, cachedAnswerOf, noneMatch, ResponseCache, withKeptBody } from "../src/response-cache.js";

t.test("an answer is kept as bytes with a strong ETag and its length", async (t) => {
  const cache = new ResponseCache();
  const answer = await cache.store("k", cache.begin(), new Response('{"a":1}', { headers: { "content-type": "application/json" } }));
  t.match(answer.etag, /^"[0-9a-f]{32}"$/);
  t.same(Object.fromEntries(answer.headers), { "content-type": "application/json", etag: answer.etag, "content-length": "7" });
  t.equal(cache.get("k"), answer);
  const again = await cache.store("k2", cache.begin(), new Response('{"a":1}'));
  t.equal(again.etag, answer.etag, "the ETag is the bytes' own");
  const own = await cache.store("k3", cache.begin(), new Response("x", { headers: { etag: '"mine"' } }));
  t.equal(own.etag, '"mine"', "an ETag the handler chose is kept");
});

t.test("an answer built before a change is served once but never kept", async (t) => {
  const cache = new ResponseCache();
  const generation = cache.begin();
  cache.clear(); // an upload committed while the answer was being built
  const answer = await cache.store("k", generation, new Response("old"));
  t.equal(Buffer.from(answer.body).toString(), "old");
  t.equal(cache.get("k"), undefined);
});

t.test("the cache is bounded by count and by bytes: the oldest answer goes first", async (t) => {
  const cache = new ResponseCache(2);
  for (const k of ["a", "b", "c"]) await cache.store(k, cache.begin(), new Response(k));
  t.equal(cache.get("a"), undefined);
  t.ok(cache.get("b") && cache.get("c"));
  const small = new ResponseCache(100, 400);
  for (const k of ["a", "b", "c", "d"]) await small.store(k, small.begin(), new Response("x".repeat(100)));
  t.ok(small.get("a"), "four answers of 100 bytes fit in 400");
  await small.store("e", small.begin(), new Response("x".repeat(100)));
  t.equal(small.get("a"), undefined, "a fifth pushes the oldest out");
  await small.store("big", small.begin(), new Response("x".repeat(101)));
  t.equal(small.get("big"), undefined, "an answer over a quarter of the bound is served, not kept");
  await small.store("b", small.begin(), new Response("y"));
  t.equal(Buffer.from(small.get("b")!.body).toString(), "y", "storing a key again replaces it");
});

t.test("an answer is rebuilt once it is older than the maximum age", async (t) => {
  const cache = new ResponseCache(10, 1000, 30);
  await cache.store("k", cache.begin(), new Response("x"));
  t.ok(cache.get("k"));
  await new Promise((r) => setTimeout(r, 60));
  t.equal(cache.get("k"), undefined);
});

t.test("answers: 200 with the bytes, HEAD without, 304 when the client has it", async (t) => {
  const cache = new ResponseCache();
  const answer = await cache.store("k", cache.begin(), new Response("body", { headers: { "content-type": "text/plain" } }));
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
