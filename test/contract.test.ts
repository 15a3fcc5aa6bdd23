// The contract checker the end-to-end suite runs on every response: it must
// accept what the description allows and refuse what it does not. And
// openapi.yaml itself must be a valid OpenAPI 3.1 document.

import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import t from "tap";
import { parse } from "yaml";
import { loadContract } from "./helpers/contract.js";
import { ROOT } from "./helpers/server.js";

const OPENAPI = `${ROOT}/openapi.yaml`;

t.test("openapi.yaml is valid OpenAPI 3.1", async (t) => {
  const validator = new Validator();
  const result = await validator.validate(parse(readFileSync(OPENAPI, "utf8")));
  t.ok(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  t.equal(validator.version, "3.1");
});

t.test("the checker accepts what the description allows and refuses the rest", async (t) => {
  const contract = await loadContract(OPENAPI);
  const url = (p: string) => new URL(`http://127.0.0.1:1${p}`);
  const json = (extra: Record<string, string> = {}) => new Headers({ "content-type": "application/json", ...extra });
  const sha = "a".repeat(64);
  const pkg = JSON.stringify({ name: "a.zip", size: 1, created_at: "2026-01-01T00:00:00Z", sha256: sha });

  t.same(contract.check("POST", url("/upload"), 200, json(), pkg), [], "a documented answer");
  t.same(contract.check("GET", url("/packages"), 200, json({ vary: "Accept" }), `[${pkg}]`), []);
  t.same(contract.check("GET", url("/nope"), 404, json(), '{"detail":"nothing at /nope"}'), [], "unknown paths: the general 404");
  t.same(contract.check("HEAD", url("/packages"), 200, json({ vary: "Accept" }), null), [], "HEAD is served where GET is");

  t.match(contract.check("POST", url("/upload"), 418, json(), "{}"), [/status 418 is not declared/]);
  t.match(contract.check("POST", url("/upload"), 200, json(), JSON.stringify({ name: "a.zip" })), [/body: .*required/], "a body missing fields");
  t.match(contract.check("GET", url("/packages"), 200, json({ vary: "Accept" }), '[{"name":1}]'), [/body:/]);
  t.match(contract.check("GET", url("/nope"), 200, json(), "{}"), [/no operation/, /not \{"detail"/]);
  t.match(contract.check("GET", url("/health"), 200, new Headers({ "content-type": "text/csv" }), "a,b"), [/content type text\/csv is not declared/]);
  t.match(contract.check("POST", url("/upload"), 401, json(), '{"detail":"no"}'), [/declared header WWW-Authenticate is missing/]);
  t.match(contract.check("GET", url("/releases"), 200, json({ vary: "Accept" }), "not json"), [/not JSON/]);
});
