// parseConfig, rule by rule: defaults, environment over YAML, validation of
// every value, where the upload token comes from.

import { resolve } from "node:path";
import t, { type Test } from "tap";
import { ConfigError, parseConfig, parseSize, type Sources } from "../src/config.js";

function parse(env: Record<string, string | undefined>, yamlText: string | null = null, more: Partial<Sources> = {}) {
  return parseConfig({
    env,
    yamlText,
    configPath: "config.yaml",
    readTokenFile: (path) => {
      throw new Error(`ENOENT: no such file, open '${path}'`);
    },
    generateToken: () => "generated-token-abcdefghijklmnop",
    ...more,
  });
}

/** Expects parseConfig to stop with a ConfigError whose one line names the key and the value. */
function rejects(t: Test, key: string, value: string, env: Record<string, string>, yamlText: string | null = null, more: Partial<Sources> = {}) {
  t.throws(() => parse(env, yamlText, more), ConfigError, `${key}=${value}`);
  try {
    parse(env, yamlText, more);
  } catch (err) {
    const message = (err as Error).message;
    t.match(message, `${key}=${JSON.stringify(value)}`, `the message names ${key} and its value`);
    t.notMatch(message, "\n", "the message is one line");
  }
}

t.test("defaults when nothing is configured", async (t) => {
  const c = parse({});
  t.same(c, {
    authToken: "generated-token-abcdefghijklmnop",
    authTokens: [{ name: "generated", token: "generated-token-abcdefghijklmnop" }],
    authTokenSource: "generated",
    authTokenFile: null,
    maxPackages: 10,
    storagePath: resolve("./data"),
    host: "0.0.0.0",
    port: 8000,
    publicUrl: null,
    maxUploadSize: 2 ** 30,
    shutdownTimeout: 25,
    trustProxy: false,
    workers: 1,
    configPath: "config.yaml",
    defaultRepository: "default/default",
    immutableReleases: false,
    tls: null,
    logLevel: "info",
    logFormat: "text",
    metrics: "on",
    headersTimeout: 20,
    bodyIdleTimeout: 30,
    sendTimeout: 60,
    keepAliveTimeout: 5,
    maxConnections: 0,
    storageBackend: "fs",
    s3: null,
    indexRefreshInterval: 30,
    databaseUrl: null,
  });
});

t.test("object storage: STORAGE_BACKEND=s3 and its settings, secrets from files, one-line errors", async (t) => {
  const s3 = { STORAGE_BACKEND: "s3", S3_ENDPOINT: "http://127.0.0.1:8080/", S3_BUCKET: "releases", S3_ACCESS_KEY_ID: "test:tester", S3_SECRET_ACCESS_KEY: "testing" };
  t.match(parse({ ...s3, S3_PREFIX: "/team/", S3_FORCE_PATH_STYLE: "true", INDEX_REFRESH_INTERVAL: "5" }), {
    storageBackend: "s3",
    s3: { endpoint: "http://127.0.0.1:8080", region: "us-east-1", bucket: "releases", prefix: "team/", forcePathStyle: true, redirectDownloads: false },
    indexRefreshInterval: 5,
    databaseUrl: null,
  });
  const files: Record<string, string> = { "/run/key": "from-file\n", "/run/db": "postgres://u:p@db/releases\n" };
  const c = parse({ ...s3, S3_SECRET_ACCESS_KEY: "", S3_SECRET_ACCESS_KEY_FILE: "/run/key", DATABASE_URL_FILE: "/run/db" }, null, { readTokenFile: (p) => files[p] });
  t.equal(c.s3!.secretAccessKey, "from-file");
  t.equal(c.databaseUrl, "postgres://u:p@db/releases");
  t.match(parse({}, "storage_backend: s3\ns3_endpoint: https://s3.example.com\ns3_bucket: rel\ns3_access_key_id: a\ns3_secret_access_key: b\n"), { s3: { bucket: "rel" } });
  rejects(t, "STORAGE_BACKEND", "disk", { STORAGE_BACKEND: "disk" });
  rejects(t, "S3_ENDPOINT", "", { STORAGE_BACKEND: "s3" });
  rejects(t, "S3_ENDPOINT", "ftp://x", { ...s3, S3_ENDPOINT: "ftp://x" });
  rejects(t, "S3_BUCKET", "Bad_Bucket", { ...s3, S3_BUCKET: "Bad_Bucket" });
  rejects(t, "S3_SECRET_ACCESS_KEY", "", { ...s3, S3_SECRET_ACCESS_KEY: "" });
  rejects(t, "INDEX_REFRESH_INTERVAL", "nope", { ...s3, INDEX_REFRESH_INTERVAL: "nope" });
  t.throws(() => parse({ DATABASE_URL: "postgres://x" }), /STORAGE_BACKEND=s3/, "a database without object storage is refused");
  t.throws(() => parse({ ...s3, DATABASE_URL: "mysql://x" }), /postgres/, "and one that is not PostgreSQL");
});

t.test("repositories, immutable releases and TLS", async (t) => {
  t.equal(parse({ DEFAULT_REPOSITORY: "GitHub/spec-kit" }).defaultRepository, "github/spec-kit", "kept in lower case, as repositories are found");
  for (const bad of ["spec-kit", "a/b/c", "../x", "-a/b", "a/.b", `${"a".repeat(40)}/b`]) {
    t.throws(() => parse({ DEFAULT_REPOSITORY: bad }), /DEFAULT_REPOSITORY.*owner\/repo/, `DEFAULT_REPOSITORY=${bad}`);
  }
  t.equal(parse({ IMMUTABLE_RELEASES: "yes" }).immutableReleases, true);
  t.throws(() => parse({ IMMUTABLE_RELEASES: "maybe" }), /IMMUTABLE_RELEASES/);
  t.throws(() => parse({ TLS_CERT_FILE: "/c.pem" }), /TLS_CERT_FILE.*set together/);
  t.throws(() => parse({ TLS_KEY_FILE: "/k.pem" }), /TLS_KEY_FILE.*set together/);
  const pem = (path: string) => `-----BEGIN ${path}-----\n`;
  const tls = parse({ TLS_CERT_FILE: "/c.pem", TLS_KEY_FILE: "/k.pem" }, null, { readPemFile: pem }).tls;
  t.same(tls, { cert: pem("/c.pem"), key: pem("/k.pem"), certFile: "/c.pem", keyFile: "/k.pem" });
  t.throws(() => parse({ TLS_CERT_FILE: "/c.pem", TLS_KEY_FILE: "/k.pem" }, null, { readPemFile: () => "hello" }), /TLS_CERT_FILE.*not PEM/);
  t.throws(
    () => parse({ TLS_CERT_FILE: "/c.pem", TLS_KEY_FILE: "/k.pem" }, null, { readPemFile: () => { throw new Error("ENOENT"); } }),
    /TLS_CERT_FILE="\/c.pem": cannot read the file: ENOENT/,
  );
});

t.test("empty or blank values count as unset", async (t) => {
  const c = parse({ PORT: "", MAX_PACKAGES: "  ", PUBLIC_URL: "" }, "port:\nhost: ''\n");
  t.equal(c.port, 8000);
  t.equal(c.maxPackages, 10);
  t.equal(c.host, "0.0.0.0");
  t.equal(c.publicUrl, null);
});

t.test("the YAML file holds the same keys in snake_case", async (t) => {
  const c = parse(
    {},
    [
      "max_packages: 3",
      "storage_path: /srv/releases",
      "host: 127.0.0.1",
      "port: 9000",
      "public_url: https://releases.example.com/",
      "max_upload_size: 500M",
      "shutdown_timeout: 5",
      "trust_proxy: yes",
      "workers: 2",
      "auth_token: from-yaml",
    ].join("\n"),
  );
  t.match(c, {
    maxPackages: 3,
    storagePath: "/srv/releases",
    host: "127.0.0.1",
    port: 9000,
    publicUrl: "https://releases.example.com",
    maxUploadSize: 500 * 2 ** 20,
    shutdownTimeout: 5,
    trustProxy: true,
    workers: 2,
    authToken: "from-yaml",
    authTokenSource: "auth_token",
  });
});

t.test("the environment wins over the YAML file", async (t) => {
  const c = parse({ PORT: "9001", MAX_PACKAGES: "7", STORAGE_PATH: "/env/path" }, "port: 9000\nmax_packages: 3\nstorage_path: /yaml/path\n");
  t.equal(c.port, 9001);
  t.equal(c.maxPackages, 7);
  t.equal(c.storagePath, "/env/path");
});

t.test("an empty YAML document is no settings", async (t) => {
  t.equal(parse({}, "").port, 8000);
  t.equal(parse({}, "# only a comment\n").port, 8000);
});

t.test("YAML problems name the file or the key", async (t) => {
  rejects(t, "colour", "blue", {}, "colour: blue\n");
  rejects(t, "CONFIG_PATH", "config.yaml", {}, "port: [1, 2\n");
  rejects(t, "CONFIG_PATH", "config.yaml", {}, "- a list\n- not a mapping\n");
  rejects(t, "CONFIG_PATH", "config.yaml", {}, "just a string\n");
  t.throws(() => parse({}, "port: {a: 1}\n"), /port=.*expected a single value/);
  t.throws(() => parse({}, "PORT: 9000\n"), /PORT=9000: unknown key/, "YAML keys are snake_case, not the environment names");
});

t.test("PORT must be a whole number from 0 to 65535", async (t) => {
  rejects(t, "PORT", "abc", { PORT: "abc" });
  rejects(t, "PORT", "80.5", { PORT: "80.5" });
  rejects(t, "PORT", "65536", { PORT: "65536" });
  rejects(t, "port", "-1", {}, "port: -1\n");
  t.equal(parse({ PORT: "0" }).port, 0);
  t.equal(parse({ PORT: " 8080 " }).port, 8080, "surrounding white space is ignored");
});

t.test("MAX_PACKAGES is a whole number, 0 keeps everything, negative is refused", async (t) => {
  rejects(t, "MAX_PACKAGES", "-1", { MAX_PACKAGES: "-1" });
  rejects(t, "MAX_PACKAGES", "ten", { MAX_PACKAGES: "ten" });
  t.equal(parse({ MAX_PACKAGES: "0" }).maxPackages, 0);
  t.equal(parse({ MAX_PACKAGES: "250" }).maxPackages, 250);
});

t.test("MAX_UPLOAD_SIZE accepts bytes and binary units", async (t) => {
  const size = (value: string) => parse({ MAX_UPLOAD_SIZE: value }).maxUploadSize;
  t.equal(size("1048576"), 1048576);
  t.equal(size("100b"), 100);
  t.equal(size("1k"), 1024);
  t.equal(size("1KB"), 1024);
  t.equal(size("500M"), 500 * 2 ** 20);
  t.equal(size("500MB"), 500 * 2 ** 20);
  t.equal(size("500MiB"), 500 * 2 ** 20);
  t.equal(size("1.5G"), 1.5 * 2 ** 30);
  t.equal(size("2 GiB"), 2 * 2 ** 30);
  t.equal(size("1T"), 2 ** 40);
  rejects(t, "MAX_UPLOAD_SIZE", "lots", { MAX_UPLOAD_SIZE: "lots" });
  rejects(t, "MAX_UPLOAD_SIZE", "10X", { MAX_UPLOAD_SIZE: "10X" });
  rejects(t, "MAX_UPLOAD_SIZE", "0", { MAX_UPLOAD_SIZE: "0" });
  rejects(t, "MAX_UPLOAD_SIZE", "0.5", { MAX_UPLOAD_SIZE: "0.5" });
  t.equal(parseSize({ value: "2K", from: "x" }), 2048);
});

t.test("SHUTDOWN_TIMEOUT is seconds", async (t) => {
  t.equal(parse({ SHUTDOWN_TIMEOUT: "0.5" }).shutdownTimeout, 0.5);
  t.equal(parse({ SHUTDOWN_TIMEOUT: "10s" }).shutdownTimeout, 10);
  rejects(t, "SHUTDOWN_TIMEOUT", "soon", { SHUTDOWN_TIMEOUT: "soon" });
  rejects(t, "SHUTDOWN_TIMEOUT", "-1", { SHUTDOWN_TIMEOUT: "-1" });
});

t.test("booleans", async (t) => {
  for (const v of ["true", "1", "yes", "on", "TRUE"]) t.equal(parse({ TRUST_PROXY: v }).trustProxy, true, v);
  for (const v of ["false", "0", "no", "off"]) t.equal(parse({ TRUST_PROXY: v }).trustProxy, false, v);
  rejects(t, "TRUST_PROXY", "maybe", { TRUST_PROXY: "maybe" });
  rejects(t, "WORKERS", "0", { WORKERS: "0" });
  rejects(t, "WORKERS", "many", { WORKERS: "many" });
  t.equal(parse({}, "trust_proxy: true\n").trustProxy, true, "a YAML boolean");
});

t.test("PUBLIC_URL must be an absolute http(s) URL without query or fragment", async (t) => {
  t.equal(parse({ PUBLIC_URL: "https://releases.example.com" }).publicUrl, "https://releases.example.com");
  t.equal(parse({ PUBLIC_URL: "https://example.com/releases/" }).publicUrl, "https://example.com/releases", "the trailing slash goes");
  t.equal(parse({ PUBLIC_URL: "http://10.0.0.1:8000" }).publicUrl, "http://10.0.0.1:8000");
  rejects(t, "PUBLIC_URL", "releases.example.com", { PUBLIC_URL: "releases.example.com" });
  rejects(t, "PUBLIC_URL", "ftp://example.com", { PUBLIC_URL: "ftp://example.com" });
  rejects(t, "PUBLIC_URL", "https://example.com/?a=1", { PUBLIC_URL: "https://example.com/?a=1" });
  rejects(t, "PUBLIC_URL", "https://example.com/#top", { PUBLIC_URL: "https://example.com/#top" });
});

t.test("HOST and STORAGE_PATH are taken as given; STORAGE_PATH is made absolute", async (t) => {
  const c = parse({ HOST: "::", STORAGE_PATH: "relative/dir" });
  t.equal(c.host, "::");
  t.equal(c.storagePath, resolve("relative/dir"));
});

t.test("the token: AUTH_TOKEN beats AUTH_TOKEN_FILE beats the YAML file", async (t) => {
  const files: Record<string, string> = { "/run/secrets/token": "from-file\n", "/yaml/token": "from-yaml-file" };
  const readTokenFile = (path: string) => {
    if (!(path in files)) throw new Error(`ENOENT: no such file, open '${path}'`);
    return files[path];
  };
  const token = (env: Record<string, string>, yaml: string | null = null) => {
    const c = parse(env, yaml, { readTokenFile });
    return [c.authToken, c.authTokenSource];
  };
  const yaml = "auth_token: yaml-token\nauth_token_file: /yaml/token\n";
  t.same(token({ AUTH_TOKEN: "env-token", AUTH_TOKEN_FILE: "/run/secrets/token" }, yaml), ["env-token", "AUTH_TOKEN"]);
  t.same(token({ AUTH_TOKEN_FILE: "/run/secrets/token" }, yaml), ["from-file", "AUTH_TOKEN_FILE"], "the file's white space is trimmed");
  t.same(token({}, yaml), ["yaml-token", "auth_token"]);
  t.same(token({}, "auth_token_file: /yaml/token\n"), ["from-yaml-file", "auth_token_file"]);
  t.same(token({ AUTH_TOKEN: "  spaced  " }), ["spaced", "AUTH_TOKEN"]);
});

t.test("a token file that is empty or unreadable stops startup", async (t) => {
  rejects(t, "AUTH_TOKEN_FILE", "/empty", { AUTH_TOKEN_FILE: "/empty" }, null, { readTokenFile: () => " \n" });
  rejects(t, "AUTH_TOKEN_FILE", "/missing", { AUTH_TOKEN_FILE: "/missing" });
  t.throws(() => parse({ AUTH_TOKEN_FILE: "/missing" }), /cannot read the token file: ENOENT/);
  rejects(t, "auth_token_file", "/missing", {}, "auth_token_file: /missing\n");
});

t.test("REQUIRE_AUTH_TOKEN refuses to generate a token", async (t) => {
  rejects(t, "AUTH_TOKEN", "", { REQUIRE_AUTH_TOKEN: "true" });
  t.equal(parse({ REQUIRE_AUTH_TOKEN: "true", AUTH_TOKEN: "set" }).authToken, "set");
  t.equal(parse({ REQUIRE_AUTH_TOKEN: "false" }).authTokenSource, "generated");
});

t.test("a generated token comes from generateToken, once per parse", async (t) => {
  let calls = 0;
  const c = parse({}, null, { generateToken: () => `token-${++calls}` });
  t.equal(c.authToken, "token-1");
  t.equal(c.authTokenSource, "generated");
  t.equal(calls, 1);
  t.equal(parse({ AUTH_TOKEN: "x" }, null, { generateToken: () => t.fail("not called when a token is set") as never }).authToken, "x");
});

t.test("several tokens: AUTH_TOKEN comma-separated, a token file one per line, optionally named", async (t) => {
  t.same(parse({ AUTH_TOKEN: "ci:aaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbb" }).authTokens, [
    { name: "ci", token: "aaaaaaaaaaaaaaaaaaaa" },
    { name: "token-2", token: "bbbbbbbbbbbbbbbbbbbb" },
  ]);
  const c = parse({ AUTH_TOKEN_FILE: "/run/secrets/tokens" }, null, { readTokenFile: () => "# comment\nnew:cccccccccccccccccc\nold:dddddddddddddddddd\n" });
  t.same(c.authTokens.map((x) => x.name), ["new", "old"]);
  t.equal(c.authTokenFile, "/run/secrets/tokens", "kept so the file can be re-read");
  t.equal(parse({ AUTH_TOKEN: "x" }).authTokenFile, null);
  rejects(t, "AUTH_TOKEN_FILE", "/only-comments", { AUTH_TOKEN_FILE: "/only-comments" }, null, { readTokenFile: () => "# nothing\n" });
  t.throws(() => parse({ AUTH_TOKEN: " , , " }), /AUTH_TOKEN="…": no token in the list/, "the value is a secret and is not repeated");
});

t.test("logging, metrics and network limits", async (t) => {
  const c = parse({ LOG_LEVEL: "WARN", LOG_FORMAT: "json", METRICS: "token", HEADERS_TIMEOUT: "5s", BODY_IDLE_TIMEOUT: "0", SEND_TIMEOUT: "1.5", KEEPALIVE_TIMEOUT: "10", MAX_CONNECTIONS: "500" });
  t.match(c, { logLevel: "warn", logFormat: "json", metrics: "token", headersTimeout: 5, bodyIdleTimeout: 0, sendTimeout: 1.5, keepAliveTimeout: 10, maxConnections: 500 });
  rejects(t, "LOG_LEVEL", "loud", { LOG_LEVEL: "loud" });
  rejects(t, "LOG_FORMAT", "xml", { LOG_FORMAT: "xml" });
  rejects(t, "METRICS", "maybe", { METRICS: "maybe" });
  rejects(t, "SEND_TIMEOUT", "soon", { SEND_TIMEOUT: "soon" });
  rejects(t, "MAX_CONNECTIONS", "-1", { MAX_CONNECTIONS: "-1" });
  t.equal(parse({}, "metrics: off\nlog_format: json\n").metrics, "off");
});
