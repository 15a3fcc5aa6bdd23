// Counters for GET /metrics, in the Prometheus text format via prom-client
// (the ecosystem's standard client; it runs unchanged on Node, Bun and Deno).

import client from "prom-client";

export interface RequestOutcome {
  method: string;
  route: string;
  status: number;
  seconds: number;
  bytesIn: number;
  bytesOut: number;
  aborted: boolean;
}

/** Routes that receive a package, for the upload counters. */
const UPLOAD_ROUTES = new Set(["POST /upload", "PUT /assets/:name"]);

export class Metrics {
  readonly registry = new client.Registry();
  /** Set by the adapter: how many client connections are open (in-flight requests where the runtime does not tell). */
  openConnections: () => number = () => 0;

  private readonly requests = new client.Counter({
    name: "release_server_http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status.",
    labelNames: ["method", "route", "status"],
    registers: [this.registry],
  });
  private readonly duration = new client.Histogram({
    name: "release_server_http_request_duration_seconds",
    help: "Time from a request's arrival until its response was sent in full or abandoned.",
    labelNames: ["method", "route"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  private readonly bytesIn = new client.Counter({
    name: "release_server_http_request_bytes_total",
    help: "Request body bytes received, by route pattern.",
    labelNames: ["route"],
    registers: [this.registry],
  });
  private readonly bytesOut = new client.Counter({
    name: "release_server_http_response_bytes_total",
    help: "Response body bytes sent, by route pattern.",
    labelNames: ["route"],
    registers: [this.registry],
  });
  private readonly uploads = new client.Counter({
    name: "release_server_uploads_total",
    help: "Uploads stored.",
    registers: [this.registry],
  });
  private readonly uploadFailures = new client.Counter({
    name: "release_server_upload_failures_total",
    help: "Uploads refused or failed, by reason.",
    labelNames: ["reason"],
    registers: [this.registry],
  });

  constructor(stored: () => Promise<{ packages: number; bytes: number }>) {
    client.collectDefaultMetrics({ register: this.registry, prefix: "release_server_" });
    const registers = [this.registry];
    const metrics = this;
    new client.Gauge({
      name: "release_server_packages",
      help: "Packages stored.",
      registers,
      async collect() {
        this.set((await stored()).packages);
      },
    });
    new client.Gauge({
      name: "release_server_package_bytes",
      help: "Bytes of the packages stored.",
      registers,
      async collect() {
        this.set((await stored()).bytes);
      },
    });
    new client.Gauge({
      name: "release_server_open_connections",
      help: "Client connections open now.",
      registers,
      collect() {
        this.set(metrics.openConnections());
      },
    });
  }

  observe(o: RequestOutcome): void {
    const status = o.aborted ? "aborted" : String(o.status);
    this.requests.inc({ method: o.method, route: o.route, status });
    this.duration.observe({ method: o.method, route: o.route }, o.seconds);
    if (o.bytesIn > 0) this.bytesIn.inc({ route: o.route }, o.bytesIn);
    if (o.bytesOut > 0) this.bytesOut.inc({ route: o.route }, o.bytesOut);
    if (UPLOAD_ROUTES.has(`${o.method} ${o.route}`)) {
      if (o.aborted) this.uploadFailures.inc({ reason: "aborted" });
      else if (o.status < 300) this.uploads.inc();
      else this.uploadFailures.inc({ reason: failureReason(o.status) });
    }
  }

  /** The text format, and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/** A short, stable word for why an upload failed, from its status. */
export function failureReason(status: number): string {
  const reasons: Record<number, string> = {
    400: "bad_request",
    401: "unauthorized",
    408: "timeout",
    409: "conflict",
    413: "too_large",
    422: "bad_request",
    503: "storage_unavailable",
    507: "storage_full",
  };
  return reasons[status] ?? (status >= 500 ? "server_error" : "other");
}
