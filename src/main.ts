// Startup and shutdown: read the configuration, open the store, serve with the
// adapter for this runtime, and on SIGTERM/SIGINT drain before exiting.

import process from "node:process";
import type { Serve } from "./adapters/types.js";
import { createApp } from "./app.js";
import { isWorker, runPrimary, sharedCounts, sharedStore } from "./cluster.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { MULTIPART_OVERHEAD } from "./multipart.js";
import { parseFullName } from "./github/repo-names.js";
import { Repositories } from "./github/repositories.js";
import { detectRuntime } from "./runtime.js";
import { DownloadCounts, openStore, StoreError, type PackageStore } from "./store/index.js";

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

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
  const config = await loadConfigOrExit();
  const runtime = detectRuntime();
  const workers = runtime === "node" ? config.workers : 1;
  if (config.workers > 1 && runtime !== "node") log(`WORKERS=${config.workers} is for Node (node:cluster); under ${runtime} one process serves`);
  if (workers > 1 && !isWorker()) {
    // The workers read the configuration again: a generated token must be the same in all of them.
    process.env.AUTH_TOKEN = config.authToken;
    if (config.authTokenSource === "generated") log(`no AUTH_TOKEN configured; generated one for this run: ${config.authToken}`);
    log(`starting ${workers} workers (storage ${describeStorage(config)})`);
    await runPrimary({ workers, store: await openStoreOrExit(config, true), log });
    log("stopped");
    process.exit(0);
  }
  // Workers leave the sweep of leftover uploads to the primary: a sibling's upload is no leftover.
  const opened = await openStoreOrExit(config, !isWorker());
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
    storeOptions: { ...backendOptions(config), sweep: !isWorker() },
  });
  const app = createApp({
    config,
    storage,
    repositories,
    log,
    onDownloadComplete: (entry) => downloads.record(entry),
    downloadCount: (entry) => downloads.count(entry),
  });
  invalidate = () => app.invalidate();
  const { serve } = (await import(`./adapters/${runtime}.js`)) as { serve: Serve };
  const server = await serve(app, {
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxUploadSize + MULTIPART_OVERHEAD,
    tls: config.tls ? { cert: config.tls.cert, key: config.tls.key } : undefined,
  }).catch((err: Error) => {
    // A port in use or not allowed is a bad setting too: one line, naming it.
    console.error(`release-server: cannot listen: PORT=${config.port} HOST=${JSON.stringify(config.host)}: ${err.message}`);
    return process.exit(1);
  });
  log(`listening on ${server.url} (runtime ${runtime}, storage ${describeStorage(config)})`);
  if (config.authTokenSource === "generated" && !isWorker()) {
    // Printed once so a developer can upload right away; set AUTH_TOKEN to keep one across restarts.
    log(`no AUTH_TOKEN configured; generated one for this run: ${config.authToken}`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: finishing open requests (at most ${config.shutdownTimeout}s)`);
    const timedOut = await Promise.race([server.close().then(() => false), sleep(config.shutdownTimeout * 1000).then(() => true)]);
    if (timedOut) {
      log("shutdown timeout reached; closing the remaining connections");
      server.forceClose();
      // Cut-off uploads remove their temp files as they fail; give them a moment to do so.
      await Promise.race([app.idle(), sleep(5000)]);
    }
    if (downloads instanceof DownloadCounts) await downloads.flush(); // a worker's are the primary's to save
    await repositories.close();
    await storage.close();
    log("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

/** A bucket, credentials, endpoint or database that cannot be used stops startup with one line. */
async function openStoreOrExit(config: Config, sweep: boolean): Promise<PackageStore> {
  try {
    return await openStore({ storagePath: config.storagePath, log, sweep, ...backendOptions(config) });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    console.error(`release-server: cannot open the storage (${describeStorage(config)}): ${err.detail}`);
    return process.exit(1);
  }
}

function backendOptions(config: Config) {
  return { backend: config.storageBackend, s3: config.s3, indexRefreshInterval: config.indexRefreshInterval, databaseUrl: config.databaseUrl };
}

function describeStorage(config: Config): string {
  if (!config.s3) return config.storagePath;
  const where = `s3 ${config.s3.endpoint} bucket ${config.s3.bucket}${config.s3.prefix ? ` prefix ${config.s3.prefix}` : ""}`;
  return config.databaseUrl ? `${where}, metadata in PostgreSQL` : where;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

main().catch((err) => {
  console.error("release-server: failed to start:", err);
  process.exit(1);
});
