// Startup and shutdown: read the configuration, open the store, serve with the
// adapter for this runtime, and on SIGTERM/SIGINT drain before exiting. With
// WORKERS > 1, this process is the primary of node:cluster workers.

import { createServer, type AddressInfo } from "node:net";
import process from "node:process";
import type { Adapter, StoreSupport } from "./adapters/types.js";
import { createApp } from "./app.js";
import { shortTokenNames, TokenAuth } from "./auth.js";
import { isWorker, runPrimary, sharedCounts, sharedStore } from "./cluster.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { parseFullName } from "./github/repo-names.js";
import { Repositories } from "./github/repositories.js";
import { MULTIPART_OVERHEAD } from "./multipart.js";
import { createLogger, type Logger } from "./ops/log.js";
import { Metrics } from "./ops/metrics.js";
import { watchTokenFile } from "./ops/token-file.js";
import { missingDependencies } from "./dependencies.js";
import { detectRuntime } from "./runtime.js";
import { DownloadCounts, openStore, StoreError, type PackageStore } from "./store/index.js";

async function loadConfigOrExit(): Promise<Config> {
  try {
    return await loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`release-server: ${err.message}`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const missing = missingDependencies();
  if (missing.length > 0) {
    console.error(`release-server: a dependency is missing; run npm install (or check the image's node_modules):\n  ${missing.join("\n  ")}`);
    process.exit(1);
  }
  const config = await loadConfigOrExit();
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const runtime = detectRuntime();
  const adapter = (await import(`./adapters/${runtime}.js`)) as Adapter;
  // WORKERS are node:cluster workers; how they share the port is the adapter's (src/adapters/types.ts).
  const cannot = config.workers > 1 && !isWorker() ? adapter.workers.unavailable?.() : undefined;
  const workers = cannot ? 1 : config.workers;
  if (cannot) log.warn(`WORKERS=${config.workers}: ${cannot}; one process serves`, { workers: config.workers });
  if (workers > 1 && !isWorker()) {
    // Where every worker binds the port itself, PORT=0 must name one port for all of them.
    if (adapter.workers.bindsOwnPort && config.port === 0) process.env.PORT = String(await freePort(config.host));
    // The workers read the configuration again: a generated token must be the same in all of them.
    if (config.authTokenSource === "generated") {
      process.env.AUTH_TOKEN = config.authToken;
      log(`no AUTH_TOKEN configured; generated one for this run: ${config.authToken}`);
    }
    log(`starting ${workers} workers (storage ${describeStorage(config)})`, { workers });
    // The primary sweeps leftovers before any worker can receive, and leaves indexing to the workers.
    await runPrimary({ workers, store: await openStoreOrExit(config, adapter.store, log, true, { indexWhenAsked: true }), log });
    log("stopped");
    process.exit(0);
  }

  const auth = new TokenAuth(config.authTokens, log);
  if (!isWorker()) {
    for (const name of shortTokenNames(config.authTokens)) {
      log.warn("a token is shorter than 16 characters; use a long random one (openssl rand -base64 32)", { token: name });
    }
  }
  const stopWatchingTokens = config.authTokenFile
    ? watchTokenFile(config.authTokenFile, config.authTokenSource, config.authToken, auth, log)
    : () => {};
  // Only the primary cleans up after a crash: a worker's sibling may be receiving into a temp file.
  const opened = await openStoreOrExit(config, adapter.store, log, !isWorker());
  const storage = isWorker() ? sharedStore(opened) : opened;
  let invalidate = () => {};
  const downloads = isWorker()
    ? sharedCounts(() => invalidate())
    : await DownloadCounts.open(storage, {
        onSaved: () => invalidate(),
        liveNames: async () => (await storage.list()).map((p) => p.name),
        log,
      });
  const repositories = new Repositories({
    storagePath: config.storagePath,
    log,
    defaultName: parseFullName(config.defaultRepository)!,
    defaultStore: storage,
    defaultDownloads: downloads,
    storeOptions: { ...backendOptions(config, adapter.store), sweep: !isWorker() },
    share: isWorker() ? sharedStore : undefined,
  });
  const metrics = new Metrics(async () => {
    const packages = await storage.list();
    return { packages: packages.length, bytes: packages.reduce((sum, p) => sum + p.size, 0), listings: storage.listings?.() ?? 0 };
  });
  const app = createApp({
    config,
    storage,
    repositories,
    log,
    auth,
    metrics,
    onDownloadComplete: (entry) => downloads.record(entry),
    downloadCount: (entry) => downloads.count(entry),
  });
  invalidate = () => app.invalidate();
  const server = await adapter.serve(app, {
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxUploadSize + MULTIPART_OVERHEAD,
    tls: config.tls ? { cert: config.tls.cert, key: config.tls.key } : undefined,
    headersTimeout: config.headersTimeout * 1000,
    bodyIdleTimeout: config.bodyIdleTimeout * 1000,
    sendTimeout: config.sendTimeout * 1000,
    keepAliveTimeout: config.keepAliveTimeout * 1000,
    maxConnections: config.maxConnections,
    reusePort: isWorker() && adapter.workers.bindsOwnPort,
    log,
  }).catch((err: Error) => {
    // A port in use or not allowed is a bad setting too: one line, naming it.
    // Each runtime words "port in use" its own way; say it one way.
    const { code, name } = err as NodeJS.ErrnoException;
    const why = code === "EADDRINUSE" || name === "AddrInUse" ? "the address is already in use (EADDRINUSE)" : err.message;
    console.error(`release-server: cannot listen: PORT=${config.port} HOST=${JSON.stringify(config.host)}: ${why}`);
    return process.exit(1);
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: finishing open requests (at most ${config.shutdownTimeout}s)`, { signal });
    const timedOut = await Promise.race([server.close().then(() => false), sleep(config.shutdownTimeout * 1000).then(() => true)]);
    if (timedOut) {
      log.warn("shutdown timeout reached; closing the remaining connections");
      server.forceClose();
      // Cut-off uploads remove their temp files as they fail; give them a moment to do so.
      await Promise.race([app.idle(), sleep(5000)]);
    }
    if (downloads instanceof DownloadCounts) await downloads.flush(); // a worker's are the primary's to save
    await repositories.close();
    await storage.close();
    stopWatchingTokens();
    log("stopped");
    process.exit(0);
  };
  // Before announcing the address: a signal that follows the announcement must find its handler.
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));

  metrics.openConnections = () => server.openConnections();
  // test/helpers/server.ts waits for "listening on <url>" followed by white space, in either format.
  log(`listening on ${server.url} (runtime ${runtime}, storage ${describeStorage(config)})`, {
    url: server.url,
    runtime,
    storage: describeStorage(config),
    tokens: config.authTokens.map((t) => t.name),
    max_packages: config.maxPackages,
    metrics: config.metrics,
  });
  if (config.authTokenSource === "generated" && !isWorker()) {
    // Printed once so a developer can upload right away; set AUTH_TOKEN to keep one across restarts.
    log(`no AUTH_TOKEN configured; generated one for this run: ${config.authToken}`);
  }
}

/** A bucket, credentials, endpoint or database that cannot be used stops startup with one line. */
async function openStoreOrExit(config: Config, runtime: StoreSupport, log: Logger, sweep: boolean, extra: { indexWhenAsked?: boolean } = {}): Promise<PackageStore> {
  try {
    return await openStore({ storagePath: config.storagePath, log, sweep, beforeServing: true, ...extra, ...backendOptions(config, runtime) });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    console.error(`release-server: cannot open the storage (${describeStorage(config)}): ${err.detail}`);
    return process.exit(1);
  }
}

function backendOptions(config: Config, runtime: StoreSupport) {
  return {
    backend: config.storageBackend,
    s3: config.s3,
    indexRefreshInterval: config.indexRefreshInterval,
    databaseUrl: config.databaseUrl,
    statOncePerTurn: runtime.statOncePerTurn,
    watchReports: runtime.watchReports,
    syncFiles: runtime.syncFiles,
  };
}

function describeStorage(config: Config): string {
  if (!config.s3) return config.storagePath;
  const where = `s3 ${config.s3.endpoint} bucket ${config.s3.bucket}${config.s3.prefix ? ` prefix ${config.s3.prefix}` : ""}`;
  return config.databaseUrl ? `${where}, metadata in PostgreSQL` : where;
}

/** A port free on `host` now, for workers that each bind it (a moment later) with SO_REUSEPORT. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

main().catch((err) => {
  console.error("release-server: failed to start:", err);
  process.exit(1);
});
