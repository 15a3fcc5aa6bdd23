import type { App } from "../app.js";

export interface ServeOptions {
  host: string;
  port: number;
  /** Largest request body the runtime must accept; the app enforces the exact limit. */
  maxBodyBytes: number;
  /** PEM certificate chain and key: serve HTTPS (HTTP/1.1) instead of HTTP. */
  tls?: { cert: string; key: string };
}

export interface RunningServer {
  /** Where the server listens, for the startup log, e.g. http://127.0.0.1:8000 */
  url: string;
  /** Stops accepting connections; resolves when the open ones have finished. */
  close(): Promise<void>;
  /** Cuts every open connection; for when close() took too long. */
  forceClose(): void;
}

export type Serve = (app: App, options: ServeOptions) => Promise<RunningServer>;
