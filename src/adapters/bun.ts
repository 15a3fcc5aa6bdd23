// Bun.serve speaks Request/Response natively; this maps options and shutdown,
// and passes bodies through the shared wrappers (counting, stalls, SEND_TIMEOUT).
// Bun has one idle timeout per connection (at most 255 s) and no header
// timeout or connection limit of its own: see the README's "Timeouts and limits".

import type { Serve, StoreSupport, WorkerSupport } from "./types.js";
import { handleWeb } from "./_web/streams.js";

interface BunServer {
  url: URL;
  pendingRequests: number;
  requestIP(request: Request): { address: string } | null;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    maxRequestBodySize: number;
    idleTimeout: number;
    reusePort?: boolean;
    tls?: { cert: string; key: string };
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
};

// node:cluster forks the workers; each binds the port itself.
export const workers: WorkerSupport = { bindsOwnPort: true };

// Bun's event loop is not known to answer a turn's requests before its setImmediate callbacks, and
// its fs.watch events can come after the next request was answered.
export const store: StoreSupport = { statOncePerTurn: false, watchReports: "in-order" };

export const serve: Serve = async (app, options) => {
  const { host, port, log, tls } = options;
  if (options.maxConnections > 0) log.warn("MAX_CONNECTIONS is not supported under Bun; it is ignored", { max_connections: options.maxConnections });
  // Bun has one idle timeout (whole seconds, at most 255) for a connection waiting for a request's
  // head or for the next request; stalled bodies and stopped readers are the wrappers' job.
  const idle = Math.max(options.headersTimeout, options.keepAliveTimeout);
  const server = Bun.serve({
    hostname: host,
    port,
    // The app enforces MAX_UPLOAD_SIZE while streaming, after the token check, with a JSON 413.
    // Bun's own limit would answer a bare 413 before authentication, so it is set out of the way.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    idleTimeout: idle > 0 ? Math.min(255, Math.ceil(idle / 1000)) : 0,
    ...(tls ? { tls } : {}),
    ...(options.reusePort ? { reusePort: true } : {}),
    // The client's address is looked up only if it is used (the access log): it costs a twentieth of a kept answer.
    fetch: (request, server) =>
      handleWeb(
        app,
        request,
        {
          get client() {
            return server.requestIP(request)?.address;
          },
        },
        options,
      ),
  });
  return {
    url: server.url.href.replace(/\/$/, ""),
    close: () => server.stop(false),
    forceClose: () => void server.stop(true),
    openConnections: () => server.pendingRequests,
  };
};
