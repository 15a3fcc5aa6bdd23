// Deno.serve speaks Request/Response natively; this maps options and shutdown,
// and passes bodies through the shared wrappers (counting, stalls, SEND_TIMEOUT).
// Deno.serve has no header, keep-alive or connection-count settings: see the
// README's "Timeouts and limits".

import type { Serve, StoreSupport, WorkerSupport } from "./types.js";
import { handleWeb } from "./_web/streams.js";

interface DenoServer {
  shutdown(): Promise<void>;
}
declare const Deno: {
  serve(
    options: { hostname: string; port: number; reusePort?: boolean; cert?: string; key?: string; signal: AbortSignal; onListen(addr: { hostname: string; port: number }): void },
    handler: (request: Request, info: { remoteAddr: { hostname: string } }) => Promise<Response>,
  ): DenoServer;
  listenDatagram?: unknown;
  permissions: { querySync(descriptor: { name: "run" }): { state: string } };
  statSync(path: string): DenoFileInfo;
  readTextFileSync(path: string): string;
  readDirSync(path: string): Iterable<{ name: string; isFile: boolean }>;
};
interface DenoFileInfo {
  isFile: boolean;
  size: number;
  ino: number | null;
  mtime: Date | null;
  ctime: Date | null;
}

// Deno's loop is not known to answer a turn's requests before its setImmediate callbacks, so the
// directory is stat'ed per request. Deno's own calls cost a third of its node:fs ones, which build
// a Stats of four dates per stat (10,000 packages: the first scan's stats and sidecar reads take
// 70 ms instead of 175 to 225, its listing 21 to 41 instead of 56 to 112; a stat on the request
// path 1 µs instead of 5.5). Its node:fs takes its times from the same call, so they agree (as
// sidecar stamps need).
export const store: StoreSupport = {
  statOncePerTurn: false,
  watchReports: "in-order", // its fs.watch events come from another thread, in order but late
  syncFiles: {
    stat(path) {
      const info = Deno.statSync(path);
      const mtime = info.mtime ?? new Date(0);
      return { ino: info.ino ?? 0, size: info.size, mtime, mtimeMs: mtime.getTime(), ctimeMs: info.ctime?.getTime() ?? 0, isFile: () => info.isFile };
    },
    readText: (path) => Deno.readTextFileSync(path),
    list: (path) => Array.from(Deno.readDirSync(path), (e) => ({ name: e.name, isFile: () => e.isFile })),
  },
};

// node:cluster forks the workers (Deno runs them with the primary's flags); each binds the port
// itself. That needs permission to start processes, and Deno's reusePort is behind --unstable-net
// (deno.json turns it on for this project).
export const workers: WorkerSupport = {
  bindsOwnPort: true,
  unavailable() {
    if (Deno.permissions.querySync({ name: "run" }).state !== "granted") return "Deno needs --allow-run to start the worker processes";
    // Asking for reusePort without the flag ends the process instead of throwing; the flag's other
    // APIs (listenDatagram) exist only with it.
    if (typeof Deno.listenDatagram !== "function") return "Deno shares a port between processes only with --unstable-net (the project's deno.json turns it on)";
    return undefined;
  },
};

export const serve: Serve = async (app, options) => {
  const { host, port, log, tls } = options;
  const scheme = tls ? "https" : "http";
  if (options.maxConnections > 0) log.warn("MAX_CONNECTIONS is not supported under Deno; it is ignored", { max_connections: options.maxConnections });
  const abort = new AbortController();
  let listening!: (url: string) => void;
  const url = new Promise<string>((resolve) => (listening = resolve));
  let inFlight = 0;
  const server = Deno.serve(
    {
      hostname: host,
      port,
      ...(options.reusePort ? { reusePort: true } : {}),
      signal: abort.signal,
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
      onListen: ({ hostname, port }) => listening(`${scheme}://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`),
    },
    async (request, info) => {
      inFlight++;
      try {
        return await handleWeb(app, request, { client: info.remoteAddr.hostname }, options);
      } finally {
        inFlight--;
      }
    },
  );
  return { url: await url, close: () => server.shutdown(), forceClose: () => abort.abort(), openConnections: () => inFlight };
};
