// The configuration a deployment hands the server: the chart's config.yaml
// (rendered for values.yaml and each example), read under the image's
// environment, with the token from the mounted Secret file; and the settings
// a deployment behind a proxy relies on (PUBLIC_URL, TRUST_PROXY).

import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import { ConfigError, loadConfig, parseConfig, parseSize } from "../src/config.js";
import { publicBaseUrl } from "../src/public-url.js";
import { parseDockerfile, parseEnv } from "./helpers/dockerfile.js";
import { renderConfigYaml } from "./helpers/render-config.js";
import { ROOT, tempDir } from "./helpers/server.js";

type Values = Record<string, unknown>;
const CHART = join(ROOT, "chart");
const configmap = await readFile(join(CHART, "templates", "configmap.yaml"), "utf8");
const deployment = await readFile(join(CHART, "templates", "deployment.yaml"), "utf8");
const values = parse(await readFile(join(CHART, "values.yaml"), "utf8")) as Values;
const stages = parseDockerfile(await readFile(join(ROOT, "Dockerfile"), "utf8"));
const imageEnv = Object.assign({}, ...stages.at(-1)!.instructions.filter((i) => i.op === "ENV").map((i) => parseEnv(i.args))) as Record<string, string>;

const CONFIG_PATH = /name: CONFIG_PATH\s+value: (\S+)/.exec(deployment)![1];
const TOKEN_FILE = "/run/secrets/release-server/token";

const isObject = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);
const merge = (a: Values, b: Values): Values =>
  Object.fromEntries([...Object.keys(a), ...Object.keys(b)].map((k) => [k, isObject(a[k]) && isObject(b[k]) ? merge(a[k], b[k]) : (k in b ? b[k] : a[k])]));

function configFor(v: Values, env: Record<string, string> = {}, readTokenFile = (_: string) => "  s3cret-token\n") {
  // In object-storage mode the deployment adds the credentials (and the database URL) from Secrets.
  const secrets = (v.objectStorage as Values | undefined)?.enabled ? { S3_ACCESS_KEY_ID: "id", S3_SECRET_ACCESS_KEY: "secret", ...((v.database as Values | undefined)?.existingSecret ? { DATABASE_URL: "postgres://u:p@db/releases" } : {}) } : {};
  return parseConfig({
    env: { ...imageEnv, CONFIG_PATH, ...secrets, ...env },
    yamlText: renderConfigYaml(configmap, v),
    configPath: CONFIG_PATH,
    readTokenFile,
    generateToken: () => "generated",
  });
}

t.test("the deployment mounts config.yaml and the token where config.yaml says", async (t) => {
  t.equal(CONFIG_PATH, "/etc/release-server/config.yaml");
  t.match(deployment, /mountPath: \/etc\/release-server\n/);
  t.match(deployment, /mountPath: \/run\/secrets\/release-server\n/);
  t.match(deployment, /path: token\n/);
  t.match(renderConfigYaml(configmap, values), `auth_token_file: ${TOKEN_FILE}\n`);
});

t.test("values.yaml and every example give a configuration the server accepts", async (t) => {
  const files = (await readdir(join(CHART, "examples"))).filter((f) => f.endsWith(".yaml"));
  for (const file of ["(values.yaml)", ...files]) {
    const override = file === "(values.yaml)" ? {} : (parse(await readFile(join(CHART, "examples", file), "utf8")) as Values);
    const v = merge(values, override);
    const c = v.config as Values;
    let read = "";
    const config = configFor(v, {}, (path) => ((read = path), "s3cret-token\n"));
    t.equal(read, TOKEN_FILE, `${file}: token read from the mounted Secret`);
    t.match(
      config,
      {
        authToken: "s3cret-token",
        authTokenSource: "auth_token_file",
        storagePath: "/data",
        port: 8000,
        host: "0.0.0.0",
        maxPackages: c.maxPackages,
        maxUploadSize: parseSize({ value: String(c.maxUploadSize), from: "x" }),
        publicUrl: c.publicUrl ? c.publicUrl : null,
        trustProxy: c.trustProxy,
        shutdownTimeout: c.shutdownTimeout,
      },
      file,
    );
  }
});

t.test("a byte count written by Helm as a number stays a whole number", async (t) => {
  const v = merge(values, { config: { maxUploadSize: 2147483648 } });
  t.match(renderConfigYaml(configmap, v), "max_upload_size: 2147483648\n");
  t.equal(configFor(v).maxUploadSize, 2 ** 31);
});

t.test("the image's environment wins over config.yaml (extraEnv)", async (t) => {
  t.equal(configFor(values, { MAX_PACKAGES: "3" }).maxPackages, 3);
  t.equal(configFor(values, { AUTH_TOKEN: "from-env" }).authToken, "from-env");
});

t.test("under the image's environment there is no generated token", async (t) => {
  t.throws(
    () => parseConfig({ env: imageEnv, yamlText: null, configPath: "config.yaml", readTokenFile: () => "", generateToken: () => "generated" }),
    new ConfigError("AUTH_TOKEN", "", "no token is configured; set AUTH_TOKEN or AUTH_TOKEN_FILE"),
  );
  t.throws(() => configFor(values, {}, () => "  \n"), /auth_token_file=.*the token file is empty/);
  t.throws(
    () =>
      configFor(values, {}, () => {
        throw new Error("ENOENT: no such file");
      }),
    /auth_token_file="\/run\/secrets\/release-server\/token": cannot read the token file: ENOENT/,
  );
});

t.test("loadConfig reads the files a deployment mounts", async (t) => {
  const dir = await tempDir("rs-deploy-");
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, "file-token\n");
  const configFile = join(dir, "config.yaml");
  await writeFile(configFile, `auth_token_file: ${tokenFile}\nmax_packages: 7\npublic_url: https://releases.example.com/\n`);
  const storage = join(dir, "data");
  const config = await loadConfig({ ...imageEnv, STORAGE_PATH: storage, CONFIG_PATH: configFile });
  t.match(config, { authToken: "file-token", maxPackages: 7, publicUrl: "https://releases.example.com", storagePath: storage });

  await t.rejects(loadConfig({ ...imageEnv, CONFIG_PATH: join(dir, "missing.yaml") }), /CONFIG_PATH=.*cannot read the config file/);
  await writeFile(configFile, "max_packages: [1\n");
  await t.rejects(loadConfig({ ...imageEnv, CONFIG_PATH: configFile, STORAGE_PATH: storage }), /CONFIG_PATH=.*not valid YAML/);
  await writeFile(configFile, "- a list\n");
  await t.rejects(loadConfig({ ...imageEnv, CONFIG_PATH: configFile, STORAGE_PATH: storage }), /must hold a mapping/);
  await writeFile(configFile, "maxPackages: 3\n");
  await t.rejects(loadConfig({ ...imageEnv, CONFIG_PATH: configFile, STORAGE_PATH: storage }), /maxPackages=3: unknown key/);
  await writeFile(configFile, "max_packages: {a: 1}\n");
  await t.rejects(loadConfig({ ...imageEnv, AUTH_TOKEN: "x", CONFIG_PATH: configFile, STORAGE_PATH: storage }), /max_packages=.*expected a single value/);

  // A volume the non-root user cannot write: the pod fails fast with the reason.
  if (process.getuid?.() !== 0) {
    const readOnly = join(dir, "ro");
    await mkdir(readOnly);
    await chmod(readOnly, 0o555);
    await t.rejects(loadConfig({ ...imageEnv, AUTH_TOKEN: "x", CONFIG_PATH: "", STORAGE_PATH: readOnly }), /STORAGE_PATH=.*not writable/);
  }
  await t.rejects(loadConfig({ ...imageEnv, AUTH_TOKEN: "x", CONFIG_PATH: "", STORAGE_PATH: join(tokenFile, "sub") }), /STORAGE_PATH=.*not writable/);
});

t.test("values a deployment might get wrong are named in the error", async (t) => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ PORT: "http" }, /PORT="http": expected a whole number/],
    [{ PORT: "70000" }, /PORT="70000": expected a number from 0 to 65535/],
    [{ MAX_UPLOAD_SIZE: "lots" }, /MAX_UPLOAD_SIZE="lots": expected a size/],
    [{ MAX_UPLOAD_SIZE: "0" }, /at least one byte/],
    [{ SHUTDOWN_TIMEOUT: "soon" }, /SHUTDOWN_TIMEOUT="soon": expected a number of seconds/],
    [{ TRUST_PROXY: "maybe" }, /TRUST_PROXY="maybe": expected true or false/],
    [{ PUBLIC_URL: "releases.example.com" }, /PUBLIC_URL=.*expected an absolute URL/],
    [{ PUBLIC_URL: "ftp://releases.example.com" }, /expected an http or https URL/],
    [{ PUBLIC_URL: "https://releases.example.com/?x=1" }, /may not have a query or fragment/],
  ];
  for (const [env, message] of bad) t.throws(() => configFor(values, env), message, JSON.stringify(env));
  t.equal(configFor(values, { SHUTDOWN_TIMEOUT: "7.5s" }).shutdownTimeout, 7.5);
  t.equal(configFor(values, { MAX_UPLOAD_SIZE: "500MiB" }).maxUploadSize, 500 * 2 ** 20);
});

t.test("download links behind an Ingress or Gateway", async (t) => {
  const req = (headers: Record<string, string>) => new Request("http://10.0.0.7:8000/latest", { headers });
  const trusted = { publicUrl: null, trustProxy: true };
  const untrusted = { publicUrl: null, trustProxy: false };
  t.equal(publicBaseUrl(req({ host: "svc:80" }), { publicUrl: "https://releases.example.com", trustProxy: true }), "https://releases.example.com");
  t.equal(publicBaseUrl(req({ host: "svc:80", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" }), untrusted), "http://svc:80", "forwarding headers ignored unless trusted");
  t.equal(publicBaseUrl(req({ host: "svc:80", "x-forwarded-proto": "https, http", "x-forwarded-host": "releases.example.com" }), trusted), "https://releases.example.com");
  t.equal(publicBaseUrl(req({ host: "svc:80", forwarded: 'for=1.2.3.4;proto=https;host="releases.example.com", for=5.6.7.8', "x-forwarded-host": "other" }), trusted), "https://releases.example.com", "Forwarded first");
  t.equal(publicBaseUrl(req({ host: "svc:80", forwarded: "for=1.2.3.4;junk", "x-forwarded-proto": "gopher" }), trusted), "http://svc:80", "only http and https");
  t.equal(publicBaseUrl(req({ host: "svc:80", "x-forwarded-host": "a b/<script>" }), trusted), "http://10.0.0.7:8000", "a malformed host is never echoed");
  // The last direct answer is remembered; nothing else may come back from it.
  const secure = (headers: Record<string, string>) => new Request("https://10.0.0.7:8443/latest", { headers });
  const asked: [Request, { publicUrl: string | null; trustProxy: boolean }, string][] = [
    [req({ host: "svc:80" }), untrusted, "http://svc:80"],
    [req({ host: "svc:80" }), untrusted, "http://svc:80"],
    [secure({ host: "svc:80" }), untrusted, "https://svc:80"],
    [req({ host: "svc:80", "x-forwarded-host": "releases.example.com" }), trusted, "http://releases.example.com"],
    [req({ host: "svc:80" }), trusted, "http://svc:80"],
    [req({ host: "other:80" }), untrusted, "http://other:80"],
    [req({ host: "a b" }), untrusted, "http://10.0.0.7:8000"],
    [req({ host: "a b" }), untrusted, "http://10.0.0.7:8000"],
    [req({ host: "svc:80" }), { publicUrl: "https://releases.example.com", trustProxy: false }, "https://releases.example.com"],
    [req({ host: "svc:80" }), untrusted, "http://svc:80"],
  ];
  t.same(asked.map(([request, opts]) => publicBaseUrl(request, opts)), asked.map(([, , want]) => want), "in any order");
});
