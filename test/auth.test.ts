// Upload tokens: lists, names, schemes, replacement, and what a failure logs.

import t from "tap";
import { parseTokens, shortTokenNames, TokenAuth } from "../src/auth.js";
import { HttpError } from "../src/http.js";
import { createLogger } from "../src/ops/log.js";
import { inScope, type RequestScope } from "../src/ops/request-scope.js";

const A = "alpha-token-0123456789";
const B = "bravo-token-0123456789";
const req = (authorization?: string) => new Request("http://x/upload", { headers: authorization ? { authorization } : {} });

t.test("parseTokens: comma lists, lines, names, comments", async (t) => {
  t.same(parseTokens(`${A}, ci:${B} ,`, ","), [
    { name: "token-1", token: A },
    { name: "ci", token: B },
  ]);
  t.same(parseTokens(`# rotated 2026-05-01\nci:${A}\r\n\n  old:${B}  \n`, "\n"), [
    { name: "ci", token: A },
    { name: "old", token: B },
  ]);
  t.same(parseTokens("deploy:with:colon", ","), [{ name: "deploy", token: "with:colon" }], "a name is needed for a token holding a colon");
  t.same(parseTokens(" , ", ","), []);
  t.same(shortTokenNames(parseTokens(`short, ok:${A}`, ",")), ["token-1"]);
});

t.test("TokenAuth: any current token, as Bearer or GitHub's `token`", async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "json", write: (l) => lines.push(l) });
  const auth = new TokenAuth(parseTokens(`ci:${A},laptop:${B}`, ","), log);
  t.equal(auth.authorize(req(`Bearer ${A}`)), "ci");
  t.equal(auth.authorize(req(`token ${B}`)), "laptop");
  t.equal(auth.authorize(req(`bearer\t${B} `)), "laptop", "scheme case and surrounding blanks do not matter");

  const refused = (authorization: string | undefined, detail: RegExp) => {
    try {
      auth.authorize(req(authorization));
      t.fail("should throw");
    } catch (err) {
      t.ok(err instanceof HttpError);
      t.equal((err as HttpError).status, 401);
      t.match((err as HttpError).detail, detail);
      t.match((err as HttpError).headers, { "www-authenticate": /^Bearer/ });
    }
  };
  refused(`Bearer ${A}x`, /^Invalid authentication token$/);
  refused(`token ${A.slice(0, -1)}`, /^Invalid authentication token$/);
  refused(undefined, /needs an Authorization: Bearer <token> header/);
  refused(`Basic ${Buffer.from(`u:${A}`).toString("base64")}`, /must be "Bearer <token>" or "token <token>"/);

  auth.replace(parseTokens(`laptop:${B}`, ","));
  refused(`Bearer ${A}`, /^Invalid authentication token$/);
  t.equal(auth.authorize(req(`Bearer ${B}`)), "laptop", "a replaced set takes effect at once");

  const warnings = lines.map((l) => JSON.parse(l));
  t.ok(warnings.length >= 5 && warnings.every((w) => w.level === "warn" && w.msg === "authentication failed"), "every failure is a warning");
  t.notOk(lines.some((l) => l.includes(A) || l.includes(B) || l.includes("alpha-token")), "and never shows a token, nor part of one");
});

t.test("the token name is recorded on the request being handled", async (t) => {
  const auth = new TokenAuth(parseTokens(`ci:${A}`, ","));
  const scope: RequestScope = { id: "r1", method: "POST", path: "/upload", start: 0, client: "", userAgent: "" };
  inScope(scope, () => auth.authorize(req(`Bearer ${A}`)));
  t.equal(scope.token, "ci");
});
