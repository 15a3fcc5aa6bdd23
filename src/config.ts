// Configuration comes from the environment and an optional YAML file with the
// same keys in snake_case; the environment wins. parseConfig is pure so that
// every rule here is unit-tested; loadConfig does the file-system work.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createRequire } from "node:module";
import { parseFullName } from "./github/repo-names.js";
import { parseTokens, type NamedToken } from "./auth.js";
import { FORMATS, LEVELS, type Level, type LogFormat } from "./ops/log.js";

export interface Config {
  /** The token text as configured (AUTH_TOKEN's value or the token file's content, trimmed). */
  authToken: string;
  /** The tokens in it; any of them authorizes an upload or delete. */
  authTokens: NamedToken[];
  /** Where the token came from; a generated one is printed once at startup. */
  authTokenSource: "AUTH_TOKEN" | "AUTH_TOKEN_FILE" | "auth_token" | "auth_token_file" | "generated";
  /** The token file, when the tokens came from one: re-read on SIGHUP and when it changes. */
  authTokenFile: string | null;
  maxPackages: number; // 0 keeps every package
  storagePath: string;
  host: string;
  port: number;
  publicUrl: string | null;
  maxUploadSize: number; // bytes
  shutdownTimeout: number; // seconds
  trustProxy: boolean;
  /** Server processes sharing the port (node:cluster); 1 serves from this process. */
  workers: number;
  configPath: string;
  /** The repository the older API acts on, "owner/repo"; its packages are STORAGE_PATH itself. */
  defaultRepository: string;
  /** Published releases can no longer change their assets or tag (GitHub's immutable releases). */
  immutableReleases: boolean;
  /** PEM certificate chain and key when the server speaks HTTPS itself; null for plain HTTP. */
  tls: { cert: string; key: string; certFile: string; keyFile: string } | null;
  logLevel: Level;
  logFormat: LogFormat;
  /** GET /metrics: on (public), off (404) or token (needs an upload token). */
  metrics: "on" | "off" | "token";
  /** Seconds; 0 disables the timeout. */
  headersTimeout: number;
  bodyIdleTimeout: number;
  sendTimeout: number;
  keepAliveTimeout: number;
  /** Open connections at most; 0 means no limit of our own. */
  maxConnections: number;
  storageBackend: "fs" | "s3";
  /** Object storage settings; null with the filesystem backend. */
  s3: S3Config | null;
  indexRefreshInterval: number; // seconds
  /** PostgreSQL for several replicas; null for one. */
  databaseUrl: string | null;
}

export interface S3Config {
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string; // "" or ending in "/"
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  redirectDownloads: boolean;
}

export class ConfigError extends Error {
  constructor(key: string, value: unknown, why: string) {
    super(`invalid configuration: ${key}=${JSON.stringify(value)}: ${why}`);
    this.name = "ConfigError";
  }
}

/** The settings, by environment name; the YAML key is the lower-case name. */
export const SETTINGS = [
  "AUTH_TOKEN",
  "AUTH_TOKEN_FILE",
  "REQUIRE_AUTH_TOKEN",
  "MAX_PACKAGES",
  "STORAGE_PATH",
  "HOST",
  "PORT",
  "PUBLIC_URL",
  "MAX_UPLOAD_SIZE",
  "SHUTDOWN_TIMEOUT",
  "TRUST_PROXY",
  "WORKERS",
  "DEFAULT_REPOSITORY",
  "IMMUTABLE_RELEASES",
  "TLS_CERT_FILE",
  "TLS_KEY_FILE",
  "LOG_LEVEL",
  "LOG_FORMAT",
  "METRICS",
  "HEADERS_TIMEOUT",
  "BODY_IDLE_TIMEOUT",
  "SEND_TIMEOUT",
  "KEEPALIVE_TIMEOUT",
  "MAX_CONNECTIONS",
  "STORAGE_BACKEND",
  "S3_ENDPOINT",
  "S3_REGION",
  "S3_BUCKET",
  "S3_PREFIX",
  "S3_ACCESS_KEY_ID",
  "S3_ACCESS_KEY_ID_FILE",
  "S3_SECRET_ACCESS_KEY",
  "S3_SECRET_ACCESS_KEY_FILE",
  "S3_FORCE_PATH_STYLE",
  "S3_REDIRECT_DOWNLOADS",
  "INDEX_REFRESH_INTERVAL",
  "DATABASE_URL",
  "DATABASE_URL_FILE",
] as const;
type Setting = (typeof SETTINGS)[number];

export const DEFAULTS = {
  MAX_PACKAGES: "10",
  STORAGE_PATH: "./data",
  HOST: "0.0.0.0",
  PORT: "8000",
  MAX_UPLOAD_SIZE: "1GiB",
  SHUTDOWN_TIMEOUT: "25",
  TRUST_PROXY: "false",
  WORKERS: "1",
  REQUIRE_AUTH_TOKEN: "false",
  CONFIG_PATH: "config.yaml",
  DEFAULT_REPOSITORY: "default/default",
  IMMUTABLE_RELEASES: "false",
  LOG_LEVEL: "info",
  LOG_FORMAT: "text",
  METRICS: "on",
  HEADERS_TIMEOUT: "20",
  BODY_IDLE_TIMEOUT: "30",
  SEND_TIMEOUT: "60",
  KEEPALIVE_TIMEOUT: "5",
  MAX_CONNECTIONS: "0",
  STORAGE_BACKEND: "fs",
  S3_REGION: "us-east-1",
  S3_PREFIX: "",
  S3_FORCE_PATH_STYLE: "false",
  S3_REDIRECT_DOWNLOADS: "false",
  INDEX_REFRESH_INTERVAL: "30",
} as const;

type Env = Record<string, string | undefined>;

/** What loadConfig read from disk, handed to the pure parser. */
export interface Sources {
  env: Env;
  /** Text of the YAML file, or null when there is none. */
  yamlText: string | null;
  configPath: string;
  /** Reads AUTH_TOKEN_FILE; injected so the parser stays pure. */
  readTokenFile: (path: string) => string;
  /** Makes a token when none is configured. */
  generateToken: () => string;
  /** Reads TLS_CERT_FILE and TLS_KEY_FILE; injected so the parser stays pure. */
  readPemFile?: (path: string) => string;
}

export function parseConfig(src: Sources): Config {
  const file = parseYamlFile(src.yamlText, src.configPath);
  // A value is "given" when the environment or the file sets it to something non-empty.
  const given = (key: Setting): { value: string; from: string } | null => {
    const env = src.env[key];
    if (env !== undefined && env.trim() !== "") return { value: env.trim(), from: key };
    const yamlKey = key.toLowerCase();
    const raw = file[yamlKey];
    if (raw === undefined || raw === null || String(raw).trim() === "") return null;
    if (typeof raw === "object") throw new ConfigError(yamlKey, raw, "expected a single value");
    return { value: String(raw).trim(), from: yamlKey };
  };
  const get = (key: Setting & keyof typeof DEFAULTS) => given(key) ?? { value: DEFAULTS[key], from: key };

  const requireToken = parseBoolean(get("REQUIRE_AUTH_TOKEN"));
  const token = resolveToken(given, src, requireToken);
  return {
    ...token,
    maxPackages: parseInteger(get("MAX_PACKAGES"), 0, Number.MAX_SAFE_INTEGER),
    storagePath: resolve(get("STORAGE_PATH").value),
    host: get("HOST").value,
    port: parseInteger(get("PORT"), 0, 65535),
    publicUrl: parsePublicUrl(given("PUBLIC_URL")),
    maxUploadSize: parseSize(get("MAX_UPLOAD_SIZE")),
    shutdownTimeout: parseSeconds(get("SHUTDOWN_TIMEOUT")),
    trustProxy: parseBoolean(get("TRUST_PROXY")),
    workers: parseInteger(get("WORKERS"), 1, 64),
    configPath: src.configPath,
    defaultRepository: parseRepository(get("DEFAULT_REPOSITORY")),
    immutableReleases: parseBoolean(get("IMMUTABLE_RELEASES")),
    tls: parseTls(given("TLS_CERT_FILE"), given("TLS_KEY_FILE"), src.readPemFile ?? ((path) => readFileSync(path, "utf8"))),
    logLevel: parseChoice(get("LOG_LEVEL"), LEVELS),
    logFormat: parseChoice(get("LOG_FORMAT"), FORMATS),
    metrics: parseChoice(get("METRICS"), ["on", "off", "token"] as const),
    headersTimeout: parseSeconds(get("HEADERS_TIMEOUT")),
    bodyIdleTimeout: parseSeconds(get("BODY_IDLE_TIMEOUT")),
    sendTimeout: parseSeconds(get("SEND_TIMEOUT")),
    keepAliveTimeout: parseSeconds(get("KEEPALIVE_TIMEOUT")),
    maxConnections: parseInteger(get("MAX_CONNECTIONS"), 0, 1_000_000),
    ...parseStorageBackend(given, get, src),
  };
}

function parseRepository(v: { value: string; from: string }): string {
  const name = parseFullName(v.value);
  if (!name) throw new ConfigError(v.from, v.value, "expected owner/repo with GitHub's name rules, such as github/spec-kit");
  return name.key;
}

function parseTls(
  cert: { value: string; from: string } | null,
  key: { value: string; from: string } | null,
  read: (path: string) => string,
): Config["tls"] {
  if (!cert && !key) return null;
  if (!cert || !key) {
    const set = (cert ?? key)!;
    throw new ConfigError(set.from, set.value, "TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  }
  const load = (v: { value: string; from: string }, marker: string) => {
    let text: string;
    try {
      text = read(v.value);
    } catch (err) {
      throw new ConfigError(v.from, v.value, `cannot read the file: ${(err as Error).message}`);
    }
    if (!text.includes(marker)) throw new ConfigError(v.from, v.value, "the file is not PEM (no -----BEGIN line)");
    return text;
  };
  return { cert: load(cert, "-----BEGIN"), key: load(key, "-----BEGIN"), certFile: cert.value, keyFile: key.value };
}

type Given = (key: Setting) => { value: string; from: string } | null;

function parseStorageBackend(given: Given, get: (key: Setting & keyof typeof DEFAULTS) => { value: string; from: string }, src: Sources) {
  const backend = get("STORAGE_BACKEND");
  if (backend.value !== "fs" && backend.value !== "s3") throw new ConfigError(backend.from, backend.value, 'expected "fs" (a directory) or "s3" (object storage)');
  const indexRefreshInterval = parseSeconds(get("INDEX_REFRESH_INTERVAL"));
  if (indexRefreshInterval <= 0) throw new ConfigError("INDEX_REFRESH_INTERVAL", indexRefreshInterval, "expected more than 0 seconds");
  const databaseUrl = secret(given, src, "DATABASE_URL", "DATABASE_URL_FILE");
  if (backend.value === "fs") {
    if (databaseUrl) throw new ConfigError("DATABASE_URL", "(set)", "a database is for several replicas on object storage; set STORAGE_BACKEND=s3 too");
    return { storageBackend: "fs" as const, s3: null, indexRefreshInterval, databaseUrl: null };
  }
  const required = (key: Setting) => given(key) ?? missing(key);
  const endpoint = required("S3_ENDPOINT");
  let url: URL;
  try {
    url = new URL(endpoint.value);
  } catch {
    throw new ConfigError(endpoint.from, endpoint.value, "expected the object storage's URL, such as https://s3.eu-west-1.amazonaws.com");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(endpoint.from, endpoint.value, "expected an http or https URL");
  const bucket = required("S3_BUCKET");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket.value)) throw new ConfigError(bucket.from, bucket.value, "not a valid bucket name (3-63 lower-case letters, digits, dots and hyphens)");
  const prefix = get("S3_PREFIX").value.replace(/^\/+|\/+$/g, "");
  const accessKeyId = secret(given, src, "S3_ACCESS_KEY_ID", "S3_ACCESS_KEY_ID_FILE") ?? missing("S3_ACCESS_KEY_ID");
  const secretAccessKey = secret(given, src, "S3_SECRET_ACCESS_KEY", "S3_SECRET_ACCESS_KEY_FILE") ?? missing("S3_SECRET_ACCESS_KEY");
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new ConfigError("DATABASE_URL", "(hidden)", "expected a postgres:// URL");
  return {
    storageBackend: "s3" as const,
    s3: {
      endpoint: url.href.replace(/\/+$/, ""),
      region: get("S3_REGION").value,
      bucket: bucket.value,
      prefix: prefix === "" ? "" : prefix + "/",
      accessKeyId,
      secretAccessKey,
      forcePathStyle: parseBoolean(get("S3_FORCE_PATH_STYLE")),
      redirectDownloads: parseBoolean(get("S3_REDIRECT_DOWNLOADS")),
    },
    indexRefreshInterval,
    databaseUrl,
  };
}

function missing(key: string): never {
  throw new ConfigError(key, "", `required with STORAGE_BACKEND=s3`);
}

/** A secret given directly or as a file (for Kubernetes secrets); never echoed in errors. */
function secret(given: Given, src: Sources, key: Setting, fileKey: Setting): string | null {
  const direct = given(key);
  if (direct) return direct.value;
  const file = given(fileKey);
  if (!file) return null;
  let text: string;
  try {
    text = src.readTokenFile(file.value);
  } catch (err) {
    throw new ConfigError(file.from, file.value, `cannot read the file: ${(err as Error).message}`);
  }
  if (text.trim() === "") throw new ConfigError(file.from, file.value, "the file is empty");
  return text.trim();
}

/** The YAML parser, loaded only when there is a config file: most servers run from the environment alone. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)("yaml") as typeof import("yaml");
  return yaml.parse(text);
}

function parseYamlFile(text: string | null, path: string): Record<string, unknown> {
  if (text === null) return {};
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const why = (err as Error).message.split("\n")[0];
    throw new ConfigError("CONFIG_PATH", path, `the file is not valid YAML: ${why}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError("CONFIG_PATH", path, "the file must hold a mapping of keys to values");
  }
  const known = new Set<string>(SETTINGS.map((k) => k.toLowerCase()));
  for (const key of Object.keys(doc)) {
    if (!known.has(key)) {
      throw new ConfigError(key, (doc as Record<string, unknown>)[key], `unknown key in ${path}; known keys: ${[...known].join(", ")}`);
    }
  }
  return doc as Record<string, unknown>;
}

function resolveToken(
  given: (key: Setting) => { value: string; from: string } | null,
  src: Sources,
  required: boolean,
): Pick<Config, "authToken" | "authTokens" | "authTokenSource" | "authTokenFile"> {
  const direct = given("AUTH_TOKEN");
  const file = given("AUTH_TOKEN_FILE");
  // The environment beats the YAML file key by key; within one source a token beats a token file.
  const pick = [direct, file].filter((x) => x !== null).sort((a, b) => rank(a!.from) - rank(b!.from))[0];
  if (pick && (pick.from === "AUTH_TOKEN" || pick.from === "auth_token")) {
    const tokens = parseTokens(pick.value, ",");
    // The value itself never goes into the message: it is a secret.
    if (tokens.length === 0) throw new ConfigError(pick.from, "…", "no token in the list");
    return { authToken: pick.value, authTokens: tokens, authTokenSource: pick.from, authTokenFile: null };
  }
  if (pick) {
    const tokens = readTokenFile(pick.value, pick.from, src.readTokenFile);
    return { ...tokens, authTokenSource: pick.from as Config["authTokenSource"], authTokenFile: pick.value };
  }
  if (required) {
    throw new ConfigError("AUTH_TOKEN", "", "no token is configured; set AUTH_TOKEN or AUTH_TOKEN_FILE");
  }
  const generated = src.generateToken();
  return { authToken: generated, authTokens: [{ name: "generated", token: generated }], authTokenSource: "generated", authTokenFile: null };
}

/** Reads and parses a token file; throws ConfigError (naming the file, never its content). */
export function readTokenFile(path: string, key: string, read: (path: string) => string): Pick<Config, "authToken" | "authTokens"> {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new ConfigError(key, path, `cannot read the token file: ${(err as Error).message}`);
  }
  const tokens = parseTokens(text, "\n");
  if (tokens.length === 0) throw new ConfigError(key, path, "the token file is empty");
  return { authToken: text.trim(), authTokens: tokens };
}

function parseChoice<T extends string>(v: { value: string; from: string }, choices: readonly T[]): T {
  const s = v.value.toLowerCase() as T;
  if (!choices.includes(s)) throw new ConfigError(v.from, v.value, `expected one of ${choices.join(", ")}`);
  return s;
}

function rank(from: string): number {
  return ["AUTH_TOKEN", "AUTH_TOKEN_FILE", "auth_token", "auth_token_file"].indexOf(from);
}

function parseInteger(v: { value: string; from: string }, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(v.value)) throw new ConfigError(v.from, v.value, "expected a whole number");
  const n = Number(v.value);
  if (n < min || n > max) throw new ConfigError(v.from, v.value, `expected a number from ${min} to ${max}`);
  return n;
}

/** true/1/yes/on and false/0/no/off, any case; undefined for anything else. */
export function booleanWord(value: string): boolean | undefined {
  const s = value.toLowerCase();
  if (["true", "1", "yes", "on"].includes(s)) return true;
  if (["false", "0", "no", "off"].includes(s)) return false;
  return undefined;
}

function parseBoolean(v: { value: string; from: string }): boolean {
  const b = booleanWord(v.value);
  if (b === undefined) throw new ConfigError(v.from, v.value, "expected true or false");
  return b;
}

function parseSeconds(v: { value: string; from: string }): number {
  const m = /^(\d+(?:\.\d+)?)\s*s?$/i.exec(v.value);
  if (!m) throw new ConfigError(v.from, v.value, "expected a number of seconds, such as 25");
  return Number(m[1]);
}

const UNITS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Sizes are bytes, or a number with a binary unit: 500M, 500MB, 500MiB and 524288000 are the same. */
export function parseSize(v: { value: string; from: string }): number {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?$/i.exec(v.value);
  if (!m) throw new ConfigError(v.from, v.value, "expected a size such as 1073741824, 500M or 1GiB");
  const n = Math.floor(Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()] : 1));
  if (n < 1) throw new ConfigError(v.from, v.value, "the size must be at least one byte");
  return n;
}

function parsePublicUrl(v: { value: string; from: string } | null): string | null {
  if (v === null) return null;
  let url: URL;
  try {
    url = new URL(v.value);
  } catch {
    throw new ConfigError(v.from, v.value, "expected an absolute URL such as https://releases.example.com");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(v.from, v.value, "expected an http or https URL");
  }
  if (url.search || url.hash) throw new ConfigError(v.from, v.value, "the URL may not have a query or fragment");
  return url.href.replace(/\/+$/, "");
}

/** Reads the files the configuration names and checks the storage directory; throws ConfigError. */
export async function loadConfig(env: Env): Promise<Config> {
  const explicitPath = env.CONFIG_PATH?.trim();
  const configPath = explicitPath || DEFAULTS.CONFIG_PATH;
  let yamlText: string | null = null;
  try {
    yamlText = await readFile(configPath, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The default file is optional; a file someone named must be there.
    if (!(code === "ENOENT" && !explicitPath)) {
      throw new ConfigError("CONFIG_PATH", configPath, `cannot read the config file: ${(err as Error).message}`);
    }
  }
  const config = parseConfig({
    env,
    yamlText,
    configPath,
    readTokenFile: (path) => readFileSync(path, "utf8"),
    generateToken: () => randomBytes(24).toString("base64url"),
  });
  if (config.storageBackend === "fs") await checkStorageWritable(config.storagePath);
  return config;
}

async function checkStorageWritable(dir: string): Promise<void> {
  const probe = `${dir}/.write-probe-${process.pid}`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, "");
    await rm(probe);
  } catch (err) {
    throw new ConfigError("STORAGE_PATH", dir, `the storage directory is not writable: ${(err as Error).message}`);
  }
}
