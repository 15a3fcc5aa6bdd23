// Response helpers: content negotiation, Content-Disposition, HTML escaping,
// and the JSON error shape.

import t from "tap";
import { contentDisposition, errorResponse, escapeHtml, HttpError, json, negotiate, text } from "../src/http.js";

const OFFERED = ["application/json", "text/html"];

t.test("negotiate picks what Accept prefers; JSON on a tie or no header", async (t) => {
  t.equal(negotiate(null, OFFERED), "application/json");
  t.equal(negotiate("", OFFERED), "application/json");
  t.equal(negotiate("*/*", OFFERED), "application/json");
  t.equal(negotiate("text/html", OFFERED), "text/html");
  t.equal(negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", OFFERED), "text/html", "a browser's Accept");
  t.equal(negotiate("application/json, text/html;q=0.5", OFFERED), "application/json");
  t.equal(negotiate("text/html;q=0.5, application/json;q=0.9", OFFERED), "application/json");
  t.equal(negotiate("text/*", OFFERED), "text/html");
  t.equal(negotiate("TEXT/HTML", OFFERED), "text/html", "media types are case-insensitive");
  t.equal(negotiate("text/html;q=0, */*", OFFERED), "application/json", "q=0 refuses a type");
  t.equal(negotiate("text/html;q=abc, application/json;q=0.1", OFFERED), "application/json", "an unreadable q counts as 0");
  t.equal(negotiate("image/png", OFFERED), "application/json", "nothing acceptable: the first offered");
});

t.test("contentDisposition quotes plain names and adds filename* for the rest", async (t) => {
  t.equal(contentDisposition("pkg-1.0.zip"), 'attachment; filename="pkg-1.0.zip"');
  t.equal(contentDisposition("with space.zip"), 'attachment; filename="with space.zip"');
  t.equal(contentDisposition("naïve.zip"), "attachment; filename=\"na_ve.zip\"; filename*=UTF-8''na%C3%AFve.zip");
  t.equal(contentDisposition('a"b.zip'), "attachment; filename=\"a_b.zip\"; filename*=UTF-8''a%22b.zip", "a quote never ends the quoted string");
  t.equal(contentDisposition("a\\b%.zip"), "attachment; filename=\"a_b_.zip\"; filename*=UTF-8''a%5Cb%25.zip");
  t.equal(contentDisposition("it's (1)*.zip"), "attachment; filename=\"it's (1)*.zip\"", "printable ASCII other than quote, backslash and % stays plain");
  t.equal(contentDisposition("日本'(x)*.zip"), "attachment; filename=\"__'(x)*.zip\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%27%28x%29%2A.zip", "RFC 5987 attr-chars only");
});

t.test("escapeHtml escapes every character that matters in text and attributes", async (t) => {
  t.equal(escapeHtml(`<script>alert("x" & 'y')</script>`), "&#60;script&#62;alert(&#34;x&#34; &#38; &#39;y&#39;)&#60;/script&#62;");
  t.equal(escapeHtml("plain"), "plain");
});

t.test("json has no charset parameter; text has one; errors are {detail}", async (t) => {
  const j = json({ a: 1 }, 201, { vary: "Accept" });
  t.equal(j.status, 201);
  t.equal(j.headers.get("content-type"), "application/json");
  t.equal(j.headers.get("vary"), "Accept");
  t.same(await j.json(), { a: 1 });

  const p = text("OK", 503);
  t.equal(p.headers.get("content-type"), "text/plain; charset=utf-8");
  t.equal(await p.text(), "OK");

  const e = errorResponse(new HttpError(401, "no token", { "www-authenticate": "Bearer" }));
  t.equal(e.status, 401);
  t.equal(e.headers.get("www-authenticate"), "Bearer");
  t.same(await e.json(), { detail: "no token" });
});
