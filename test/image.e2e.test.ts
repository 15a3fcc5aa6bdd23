// The container image without Docker: lay out exactly what the Dockerfile's
// stages copy, start the runtime stage's CMD with its ENV, and run the
// end-to-end smoke against it. A file the image forgets must fail here.

import { createHash, randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import { SETTINGS } from "../src/config.js";
import { dockerignore } from "./helpers/dockerfile.js";
import { layoutImage, type Image } from "./helpers/image-layout.js";
import { formWith, ROOT, startServer, TOKEN } from "./helpers/server.js";

const dockerfile = await readFile(join(ROOT, "Dockerfile"), "utf8");
const image = await layoutImage(dockerfile);
t.teardown(async () => {
  for (const root of new Set([image.root, ...image.stageRoots.values()])) await rm(root, { recursive: true, force: true });
});

/** Starts the image's CMD the way the distroless entrypoint (node) does, with the image's ENV. */
function startImage(img: Image, env: Record<string, string> = {}) {
  const storage = join(img.root, img.env.STORAGE_PATH);
  return startServer({
    command: [process.execPath, ...img.cmd],
    cwd: join(img.root, img.workdir),
    storage,
    env: {
      ...img.env,
      STORAGE_PATH: storage, // the image's /data, inside the laid-out root
      HOST: "127.0.0.1",
      PORT: "0",
      NODE_PATH: "",
      AUTH_TOKEN: TOKEN,
      ...env,
    },
  });
}

/** The smoke: upload, list, latest, download, delete, and the API description. Returns what went wrong. */
async function smoke(url: string): Promise<string[]> {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => ok || problems.push(what);
  const auth = { authorization: `Bearer ${TOKEN}` };
  const bytes = randomBytes(200_000);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const name = "spec-kit-template-claude-sh-v0.0.90.zip";

  const up = await fetch(`${url}/upload`, { method: "POST", headers: auth, body: formWith(name, bytes, { sha256: sha }) });
  expect(up.status === 200 && (await up.json()).sha256 === sha, `upload: ${up.status}`);
  const list = (await (await fetch(`${url}/packages`)).json()) as { name: string }[];
  expect(list.length === 1 && list[0].name === name, "list");
  const latest = await (await fetch(`${url}/latest`)).json();
  expect(latest.assets?.[0]?.name === name, "latest");
  const download = await fetch(`${url}/assets/${name}`);
  const got = Buffer.from(await download.arrayBuffer());
  expect(download.status === 200 && createHash("sha256").update(got).digest("hex") === sha, "download");
  const del = await fetch(`${url}/packages/${name}`, { method: "DELETE", headers: auth });
  expect(del.status === 204, `delete: ${del.status}`);
  const openapi = await fetch(`${url}/openapi.yaml`);
  expect(openapi.status === 200 && (await openapi.text()).startsWith("openapi:"), `GET /openapi.yaml: ${openapi.status}`);
  // The pages' files and Swagger UI come from the image itself.
  for (const path of ["/static/app.css", "/static/app.js", "/static/docs.js", "/static/swagger-ui/swagger-ui-bundle.js"]) {
    const res = await fetch(`${url}${path}`);
    expect(res.status === 200 && (await res.arrayBuffer()).byteLength > 0, `GET ${path}: ${res.status}`);
  }
  return problems;
}

t.test("the runtime stage is distroless, non-root, with the documented settings", async (t) => {
  t.match(image.from, /^gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot$/);
  t.equal(image.user, "nonroot");
  t.same(image.expose, ["8000"]);
  t.same(image.volumes, ["/data"]);
  t.match(image.env, { STORAGE_PATH: "/data", PORT: "8000", HOST: "0.0.0.0", REQUIRE_AUTH_TOKEN: "true" });
  t.same(image.cmd, ["dist/main.js"], "exec form, run by the distroless node entrypoint");
});

t.test("the image holds only the runtime files", async (t) => {
  const { readdir } = await import("node:fs/promises");
  t.same((await readdir(join(image.root, image.workdir))).sort(), ["dist", "node_modules", "openapi.yaml", "package.json", "static"]);
  const modules = await readdir(join(image.root, image.workdir, "node_modules"));
  for (const dep of ["busboy", "yaml", "markdown-it", "swagger-ui-dist"]) t.ok(modules.includes(dep), `production dependency ${dep} installed`);
  for (const dev of ["typescript", "tap", "c8", "bun", "deno", "@types", "playwright-core", "openapi-backend"]) t.notOk(modules.includes(dev), `no dev dependency ${dev}`);
  t.notOk((await readdir(join(image.root, image.workdir, "dist"))).some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "no sources");
  t.same(await readdir(join(image.root, image.env.STORAGE_PATH)), [], "an empty /data for the volume");
  t.match(dockerfile, /^COPY --from=build --chown=nonroot:nonroot \S+ \/data$/m, "owned by the non-root user, so a fresh volume is writable");
});

t.test(".dockerignore keeps tests, docs and local data out of the build context", async (t) => {
  const ignored = dockerignore(await readFile(join(ROOT, ".dockerignore"), "utf8"));
  for (const p of ["test/smoke.e2e.test.ts", "README.md", "chart/README.md", "data/x.zip", "node_modules/yaml/package.json", "dist/main.js", ".git/HEAD", "coverage/lcov.info", "config.yaml", ".env"]) {
    t.ok(ignored(p), `${p} is left out`);
  }
  for (const p of ["src/main.ts", "src/routes/openapi.ts", "package.json", "package-lock.json", "tsconfig.json", "openapi.yaml", "static/app.js"]) {
    t.notOk(ignored(p), `${p} is sent`);
  }
});

t.test("the documented Docker and Compose examples match the image", async (t) => {
  const readme = await readFile(join(ROOT, "docs", "operations-and-deployment.md"), "utf8");
  const port = image.expose[0];
  const volume = image.volumes[0];
  const run = /```bash\n(docker build[^]*?)```/.exec(readme)?.[1] ?? "";
  t.match(run, `-p ${port}:${port}`);
  t.match(run, new RegExp(`-v \\S+:${volume}\\b`));
  t.match(run, /-e AUTH_TOKEN=/, "a token, which the image requires");
  const compose = parse(/```yaml\n(services:[^]*?)```/.exec(readme)?.[1] ?? "") as {
    services: Record<string, { ports: string[]; environment: Record<string, string>; volumes: string[] }>;
  };
  const service = Object.values(compose.services)[0];
  t.same(service.ports, [`${port}:${port}`]);
  t.ok(service.volumes.some((v) => v.endsWith(`:${volume}`)), "the volume is mounted at the image's VOLUME");
  t.ok("AUTH_TOKEN" in service.environment || "AUTH_TOKEN_FILE" in service.environment, "a token");
  for (const key of Object.keys(service.environment)) t.ok((SETTINGS as readonly string[]).includes(key), `${key} is a setting`);
  t.match(readme, "release-server: invalid configuration: AUTH_TOKEN=\"\": no token is configured; set AUTH_TOKEN or AUTH_TOKEN_FILE");
});

t.test("the laid-out image passes the end-to-end smoke", async (t) => {
  const server = await startImage(image);
  t.teardown(() => server.stop());
  t.same(await smoke(server.url), []);
  t.notMatch(server.output(), TOKEN, "the token is not logged");
});

t.test("a missing token is a clear startup error, not a generated token", async (t) => {
  const err = await startImage(image, { AUTH_TOKEN: "" }).then(
    async (s) => (await s.stop(), null),
    (e: Error) => e,
  );
  t.ok(err, "the server refuses to start");
  t.match(err?.message, /exited with 1/);
  t.match(err?.message, 'release-server: invalid configuration: AUTH_TOKEN="": no token is configured; set AUTH_TOKEN or AUTH_TOKEN_FILE');
  t.notMatch(err?.message, /generated/);
});

t.test("a file the Dockerfile forgets fails the smoke", async (t) => {
  const runtimeCopy = /^COPY package\.json openapi\.yaml \.\/$/m;
  t.match(dockerfile, runtimeCopy, "the runtime stage copies package.json and openapi.yaml");

  const noOpenapi = await layoutImage(dockerfile.replace(runtimeCopy, "COPY package.json ./"), { reuse: image.stageRoots });
  t.teardown(() => rm(noOpenapi.root, { recursive: true, force: true }));
  const server = await startImage(noOpenapi);
  t.teardown(() => server.stop());
  t.match(await smoke(server.url), ["GET /openapi.yaml: 404"]);

  // Without the production dependencies the server cannot start.
  const depsCopy = /^COPY --from=deps \/app\/node_modules \.\/node_modules\n/m;
  t.match(dockerfile, depsCopy);
  const noModules = await layoutImage(dockerfile.replace(depsCopy, ""), { reuse: image.stageRoots });
  t.teardown(() => rm(noModules.root, { recursive: true, force: true }));
  await t.rejects(startImage(noModules), /exited with 1 before listening[^]*Cannot find package/);
});
