// Bun.serve speaks Request/Response natively; this only maps options and shutdown.

import { withKeptBody } from "../response-cache.js";
import type { Serve } from "./types.js";

interface BunServer {
  url: URL;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    maxRequestBodySize: number;
    idleTimeout: number;
    tls?: { cert: string; key: string };
    fetch(request: Request): Promise<Response>;
  }): BunServer;
};

export const serve: Serve = async (app, { host, port, maxBodyBytes, tls }) => {
  const server = Bun.serve({
    hostname: host,
    port,
    maxRequestBodySize: maxBodyBytes,
    idleTimeout: 120, // seconds; the default (10) cuts off slow clients mid-transfer
    ...(tls ? { tls } : {}),
    fetch: async (request) => withKeptBody(await app.fetch(request)),
  });
  return {
    url: server.url.href.replace(/\/$/, ""),
    close: () => server.stop(false),
    forceClose: () => void server.stop(true),
  };
};
