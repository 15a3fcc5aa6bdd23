// Counters for GET /metrics, in the Prometheus text format via prom-client
// (the ecosystem's standard client; it runs unchanged on Node, Bun and Deno).
//
// Requests are tallied here, in plain maps: a few additions per request,
// where prom-client's own counters hash a label object each time. prom-client
// itself is loaded by the first scrape: it is 12 MB of resident memory, a
// fifth of an idle server, that a server nobody scrapes never needs. The
// first scrape also starts its process metrics (CPU, memory, event loop lag,
// garbage collection), which therefore count from then on; the request
// counters count from the start.

import type { Registry } from "prom-client";

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

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120];

type Labels = Record<string, string>;

type Count = { labels: Labels; value: number };

/** A counter's series by label values (joined into one key), each with its labels and value. */
class Tally {
  readonly series = new Map<string, Count>();

  /** The series for `key`, made with `labels` the first time. */
  count(key: string, labels: () => Labels): Count {
    let found = this.series.get(key);
    if (!found) this.series.set(key, (found = { labels: labels(), value: 0 }));
    return found;
  }

  add(key: string, labels: () => Labels, amount = 1): void {
    this.count(key, labels).value += amount;
  }
}

/**
 * Everything one request of a method and route adds to, found with two map
 * lookups on strings the request already has: building label keys and
 * closures per request was a third of the metrics' cost on a kept answer.
 */
interface RouteSeries {
  durations: Durations;
  byStatus: Map<number | "aborted", Count>;
  bytesIn: Count;
  bytesOut: Count;
  upload: boolean;
}

interface Durations {
  labels: Labels;
  /** Observations per bucket (not cumulative); the last is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

/** What a custom metric gives prom-client's registry to render. */
interface Rendered {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  values: { labels: Labels; value: number; metricName?: string }[];
  aggregator: "sum";
}

export class Metrics {
  /** Set by the adapter: how many client connections are open (in-flight requests where the runtime does not tell). */
  openConnections: () => number = () => 0;

  private readonly requests = new Tally();
  private readonly routes = new Map<string, Map<string, RouteSeries>>(); // method, then route pattern
  private readonly bytesIn = new Tally();
  private readonly bytesOut = new Tally();
  private readonly uploads = new Tally();
  private readonly uploadFailures = new Tally();
  private registry: Promise<Registry> | null = null;

  constructor(private readonly stored: () => Promise<{ packages: number; bytes: number; listings: number }>) {}

  observe(o: RequestOutcome): void {
    const series = this.seriesOf(o.method, o.route);
    const status = o.aborted ? "aborted" : o.status;
    let requests = series.byStatus.get(status);
    if (!requests) {
      const { method, route } = o;
      series.byStatus.set(status, (requests = this.requests.count(`${method} ${route} ${status}`, () => ({ method, route, status: String(status) }))));
    }
    requests.value++;
    const { durations } = series;
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && o.seconds > DURATION_BUCKETS[bucket]) bucket++;
    durations.buckets[bucket]++;
    durations.sum += o.seconds;
    durations.count++;
    series.bytesIn.value += o.bytesIn;
    series.bytesOut.value += o.bytesOut;
    if (series.upload) {
      if (o.aborted) this.uploadFailures.add("aborted", () => ({ reason: "aborted" }));
      else if (o.status < 300) this.uploads.add("", () => ({}));
      else {
        const reason = failureReason(o.status);
        this.uploadFailures.add(reason, () => ({ reason }));
      }
    }
  }

  private seriesOf(method: string, route: string): RouteSeries {
    let byRoute = this.routes.get(method);
    if (!byRoute) this.routes.set(method, (byRoute = new Map()));
    let series = byRoute.get(route);
    if (!series) {
      series = {
        durations: { labels: { method, route }, buckets: new Array(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 },
        byStatus: new Map(),
        bytesIn: this.bytesIn.count(route, () => ({ route })),
        bytesOut: this.bytesOut.count(route, () => ({ route })),
        upload: UPLOAD_ROUTES.has(`${method} ${route}`),
      };
      byRoute.set(route, series);
    }
    return series;
  }

  /** The text format, and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    const registry = await (this.registry ??= this.load());
    return { body: await registry.metrics(), contentType: registry.contentType };
  }

  private async load(): Promise<Registry> {
    const client = (await import("prom-client")).default;
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry, prefix: "release_server_" });
    const custom = (name: string, help: string, type: Rendered["type"], values: () => Rendered["values"] | Promise<Rendered["values"]>) => {
      // prom-client's registry renders any metric object whose get() describes its series.
      registry.registerMetric({ name, help, type, get: async (): Promise<Rendered> => ({ name, help, type, values: await values(), aggregator: "sum" }) } as never);
    };
    const counter = (tally: Tally, empty: boolean) => () => {
      // A route's byte counters exist from its first request; they are shown once something was counted.
      const values = [...tally.series.values()].filter(({ value }) => value > 0).map(({ labels, value }) => ({ labels, value }));
      return values.length === 0 && empty ? [{ labels: {}, value: 0 }] : values;
    };
    custom("release_server_http_requests_total", "HTTP requests answered, by method, route pattern and status.", "counter", counter(this.requests, false));
    custom("release_server_http_request_duration_seconds", "Time from a request's arrival until its response was sent in full or abandoned.", "histogram", () =>
      [...this.routes.values()].flatMap((byRoute) => [...byRoute.values()].flatMap((series) => histogramValues(series.durations))),
    );
    custom("release_server_http_request_bytes_total", "Request body bytes received, by route pattern.", "counter", counter(this.bytesIn, false));
    custom("release_server_http_response_bytes_total", "Response body bytes sent, by route pattern.", "counter", counter(this.bytesOut, false));
    custom("release_server_uploads_total", "Uploads stored.", "counter", counter(this.uploads, true));
    custom("release_server_upload_failures_total", "Uploads refused or failed, by reason.", "counter", counter(this.uploadFailures, false));
    custom("release_server_packages", "Packages stored.", "gauge", async () => [{ labels: {}, value: (await this.stored()).packages }]);
    custom("release_server_package_bytes", "Bytes of the packages stored.", "gauge", async () => [{ labels: {}, value: (await this.stored()).bytes }]);
    custom("release_server_storage_listings_total", "Times the storage was read in full (the directory, or the bucket listed), since start.", "counter", async () => [{ labels: {}, value: (await this.stored()).listings }]);
    custom("release_server_open_connections", "Client connections open now.", "gauge", () => [{ labels: {}, value: this.openConnections() }]);
    return registry;
  }
}

/** A histogram series as the text format has it: cumulative buckets with `le`, then its sum and count. */
function histogramValues({ labels, buckets, sum, count }: Durations): Rendered["values"] {
  const name = "release_server_http_request_duration_seconds";
  let cumulative = 0;
  const values: Rendered["values"] = buckets.map((n, i) => {
    cumulative += n;
    return { metricName: `${name}_bucket`, labels: { ...labels, le: i < DURATION_BUCKETS.length ? String(DURATION_BUCKETS[i]) : "+Inf" }, value: cumulative };
  });
  values.push({ metricName: `${name}_sum`, labels, value: sum }, { metricName: `${name}_count`, labels, value: count });
  return values;
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
