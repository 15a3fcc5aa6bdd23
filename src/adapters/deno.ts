// Deno.serve speaks Request/Response natively; this only maps options and shutdown.

import { withKeptBody } from "../response-cache.js";
import type { Serve } from "./types.js";

interface DenoServer {
  shutdown(): Promise<void>;
}
declare const Deno: {
  serve(
    options: { hostname: string; port: number; cert?: string; key?: string; signal: AbortSignal; onListen(addr: { hostname: string; port: number }): void },
    handler: (request: Request) => Promise<Response>,
  ): DenoServer;
};

export const serve: Serve = async (app, { host, port, tls }) => {
  const scheme = tls ? "https" : "http";
  const abort = new AbortController();
  let listening!: (url: string) => void;
  const url = new Promise<string>((resolve) => (listening = resolve));
  const server = Deno.serve(
    {
      hostname: host,
      port,
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
      signal: abort.signal,
      onListen: ({ hostname, port }) => listening(`${scheme}://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`),
    },
    async (request) => withKeptBody(await app.fetch(request)),
  );
  return { url: await url, close: () => server.shutdown(), forceClose: () => abort.abort() };
};
