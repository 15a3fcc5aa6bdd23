// The older Python server's contract (../shared/reference/original-openapi.yaml)
// still holds for every route it declares: each answer below is checked
// against that description by the same checker the suite runs on openapi.yaml.

import { existsSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { loadContract } from "./helpers/contract.js";
import { formWith, ROOT, serverFor } from "./helpers/server.js";

const ORIGINAL = [join(ROOT, "../shared/reference/original-openapi.yaml"), "/work/shared/reference/original-openapi.yaml"].find(existsSync);

t.test("the older server's contract", { skip: ORIGINAL ? false : "original-openapi.yaml is not beside the checkout" }, async (t) => {
  const contract = await loadContract(ORIGINAL!, { bodiesWhereNoneDeclared: true });
  const server = await serverFor(t);
  let checked = 0;
  const call = async (method: string, path: string, init: RequestInit = {}, expected?: number) => {
    const url = new URL(`${server.url}${path}`);
    const res = await fetch(url, { ...init, method });
    const body = method === "HEAD" ? null : await res.text();
    if (expected !== undefined) t.equal(res.status, expected, `${method} ${path}`);
    t.same(contract.check(method, url, res.status, res.headers, body), [], `${method} ${path} → ${res.status} keeps the older contract`);
    checked++;
  };
  // An extension the older server sent as application/octet-stream too.
  const name = "tool-v1.0.0.bin";
  const auth = server.auth;
  await call("GET", "/healthz", {}, 200);
  await call("GET", "/readyz", {}, 200);
  await call("GET", "/latest", {}, 200);
  await call("POST", "/upload", { headers: auth, body: formWith(name, new Uint8Array([1, 2, 3])) }, 200);
  await call("POST", "/upload", { headers: auth, body: formWith(name, new Uint8Array([1, 2, 3])) }, 409);
  await call("POST", "/upload?overwrite=true", { headers: auth, body: formWith(name, new Uint8Array([4])) }, 200);
  await call("POST", "/upload?overwrite=maybe", { headers: auth, body: formWith(name, new Uint8Array([4])) }, 422);
  await call("POST", "/upload", { body: formWith(name, new Uint8Array([4])) }, 401);
  await call("POST", "/upload", { headers: auth, body: formWith("../x.bin", new Uint8Array([4])) }, 400);
  await call("GET", "/latest", {}, 200);
  await call("GET", "/packages", {}, 200);
  await call("GET", "/packages?format=html", {}, 200);
  await call("GET", "/packages", { headers: { accept: "text/html" } }, 200);
  await call("GET", "/packages?format=xml", {}, 422);
  await call("GET", `/assets/${name}`, {}, 200);
  await call("GET", "/assets/nope.bin", {}, 404);
  await call("DELETE", `/assets/${name}`, {}, 401);
  await call("DELETE", `/assets/${name}`, { headers: auth }, 204);
  await call("DELETE", `/assets/${name}`, { headers: auth }, 404);
  t.equal(checked, 19);
});
