// Deno.serve speaks Request/Response natively; this maps options and shutdown,
// and passes bodies through the shared wrappers (counting, stalls, SEND_TIMEOUT).
// Deno.serve has no header, keep-alive or connection-count settings: see the
// README's "Timeouts and limits".

import type { Serve } from "./types.js";
import { handleWeb } from "./_web/streams.js";

interface DenoServer {
  shutdown(): Promise<void>;
}
declare const Deno: {
  serve(
    options: { hostname: string; port: number; cert?: string; key?: string; signal: AbortSignal; onListen(addr: { hostname: string; port: number }): void },
    handler: (request: Request, info: { remoteAddr: { hostname: string } }) => Promise<Response>,
  ): DenoServer;
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
