// Deno.serve speaks Request/Response natively; this only maps options and shutdown.

import { withKeptBody } from "../response-cache.js";
import type { Serve } from "./types.js";

interface DenoServer {
  shutdown(): Promise<void>;
}
declare const Deno: {
  serve(
    options: { hostname: string; port: number; signal: AbortSignal; onListen(addr: { hostname: string; port: number }): void },
    handler: (request: Request) => Promise<Response>,
  ): DenoServer;
};

export const serve: Serve = async (app, { host, port }) => {
  const abort = new AbortController();
  let listening!: (url: string) => void;
  const url = new Promise<string>((resolve) => (listening = resolve));
  const server = Deno.serve(
    {
      hostname: host,
      port,
      signal: abort.signal,
      onListen: ({ hostname, port }) => listening(`http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`),
    },
    async (request) => withKeptBody(await app.fetch(request)),
  );
  return { url: await url, close: () => server.shutdown(), forceClose: () => abort.abort() };
};
