// node:http <-> web-standard Request/Response. Package bodies skip the
// web-stream layer and go straight from the store's reader to the socket, and
// answers kept by the response cache are written as the bytes they keep.
//
// Limits (README, "Timeouts and limits"): Node's own headersTimeout and
// keepAliveTimeout; a request body that stalls for bodyIdleTimeout fails its
// reader (the app removes its temp file) and is answered 408; a response whose
// client stops reading for sendTimeout is cut (socket inactivity); no request
// timeout, so an upload that is slow but moving is never cut.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";
import type { App, AtOnce } from "../app.js";
import { json } from "../http.js";
import { packageBodyOf, type PackageBody } from "../package-body.js";
import { cachedAnswerOf } from "../response-cache.js";
import type { Serve, ServeOptions, StoreSupport, WorkerSupport } from "./types.js";
import { headOf, toRequest } from "./_node/request.js";

// node:cluster's primary listens and hands each connection to a worker.
export const workers: WorkerSupport = { bindsOwnPort: false };

// Node's loop answers the requests it read in one poll phase before its setImmediate callbacks.
export const store: StoreSupport = { statOncePerTurn: true, watchReports: "in-time" };

export const serve: Serve = async (app, options) => {
  const { host, port, log, tls } = options;
  const scheme = tls ? "https" : "http";
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method;
    if (method === "GET" || method === "HEAD") {
      let atOnce: AtOnce | undefined;
      try {
        atOnce = app.answerAtOnce(headOf(req, scheme), { client: req.socket.remoteAddress });
      } catch (err) {
        // Thrown here it would end the process; the ordinary path answers instead.
        log.error("failed to look up a kept answer", { error: err });
      }
      if (atOnce) return sendAtOnce(req, res, atOnce, options.sendTimeout);
    }
    handle(app, req, res, options, scheme).catch((err) => {
      log.error("failed to answer a request", { error: err });
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ detail: "internal server error" }));
    });
  };
  const settings = {
    // No limit on a whole request: a large upload on a slow link may take hours. Stalls are caught instead.
    requestTimeout: 0,
    headersTimeout: options.headersTimeout,
    keepAliveTimeout: options.keepAliveTimeout,
    // How often Node checks for headers that took too long (its default is 30 s).
    connectionsCheckingInterval: Math.max(250, Math.min(options.headersTimeout || 30_000, 5000) / 4),
  };
  // node:https (and TLS with it) is loaded only when asked for: a megabyte of memory otherwise.
  const server = tls ? (await import("node:https")).createServer({ ...settings, cert: tls.cert, key: tls.key }, onRequest) : createServer(settings, onRequest);
  if (options.maxConnections > 0) server.maxConnections = options.maxConnections;
  let open = 0;
  let dropped = 0;
  server.on("connection", (socket: Socket) => {
    open++;
    socket.once("close", () => open--);
  });
  server.on("drop", () => {
    if (dropped++ % 100 === 0) log.warn("MAX_CONNECTIONS reached; refusing new connections", { max_connections: options.maxConnections, refused: dropped });
  });
  // With this listener Node no longer answers `Expect: 100-continue` by itself:
  // the body stream sends 100 Continue when the app first reads it, so a
  // request refused before its body is needed never has its body sent.
  server.on("checkContinue", onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `${scheme}://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
    forceClose: () => server.closeAllConnections(),
    openConnections: () => open,
  };
};

async function handle(app: App, req: IncomingMessage, res: ServerResponse, options: ServeOptions, scheme: "http" | "https"): Promise<void> {
  const body = req.method !== "GET" && req.method !== "HEAD" ? new NodeBody(req, res, options.bodyIdleTimeout) : null;
  let response = await app.fetch(toRequest(req, () => body?.stream ?? null, scheme), { client: req.socket.remoteAddress });
  let report = (outcome: { bytesOut: number; aborted: boolean }) => app.finished(response, { bytesIn: body?.received ?? 0, ...outcome });
  if (body?.timedOut) {
    // The app saw its body fail (and removed the upload's temp file); the client is told why.
    const answered = response;
    await answered.body?.cancel();
    response = json({ detail: `the request body stalled for more than ${options.bodyIdleTimeout / 1000} seconds (BODY_IDLE_TIMEOUT); nothing was stored, send it again` }, 408, {
      connection: "close",
      "x-request-id": answered.headers.get("x-request-id") ?? "",
    });
    report = (outcome) => app.finished(answered, { bytesIn: body.received, ...outcome, status: 408 });
    res.once("finish", () => req.destroy());
  } else if (body && !req.complete) {
    if (!body.continued && expectsContinue(req)) {
      // The client holds its body back until told to continue; it never will be,
      // so this connection cannot carry another request.
      response.headers.set("connection", "close");
    } else {
      // A body the app did not read (a refused upload) is still arriving. Closing
      // now would make the kernel reset the connection and the client could lose
      // our answer, so read and drop the rest, within bounds.
      res.once("finish", () => void body.discardRest());
    }
  }
  // From here the client must keep reading: a response that makes no progress for SEND_TIMEOUT is cut.
  // (After the response Node sets the keep-alive timeout on the socket itself.)
  if (options.sendTimeout > 0) req.socket.setTimeout(options.sendTimeout);
  let bytesOut = 0;
  res.once("close", () => report({ bytesOut, aborted: !res.writableFinished }));
  bytesOut = await writeResponse(req, res, response);
}

/** Writes an answer the app gave at once: its head and kept bytes, in one call. */
function sendAtOnce(req: IncomingMessage, res: ServerResponse, answer: AtOnce, sendTimeout: number): void {
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body ?? undefined);
  const bytesOut = answer.body?.length ?? 0;
  // Usually the socket took the whole answer in one write: it is sent, and Node's keep-alive timeout
  // takes over. Only what it did not take waits on the client, with a listener and a send timer; both
  // for every answer cost as much as looking the answer up.
  if (res.writableFinished) return answer.finished({ bytesOut, aborted: false });
  res.once("close", () => answer.finished({ bytesOut, aborted: !res.writableFinished }));
  if (sendTimeout > 0) req.socket.setTimeout(sendTimeout);
}

function expectsContinue(req: IncomingMessage): boolean {
  return /^100-continue$/i.test(req.headers.expect ?? "");
}

const DISCARD_BYTES = 8 * 1024 * 1024;
const DISCARD_MS = 10_000;

/** The request body as a web stream that reads from the socket only when pulled. */
class NodeBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Whether the app started reading (and so `100 Continue` was sent if asked for). */
  continued = false;
  /** Body bytes received so far. */
  received = 0;
  /** Whether the client stopped sending for longer than the idle timeout. */
  timedOut = false;
  private readonly chunks: AsyncIterator<Buffer>;

  constructor(
    private readonly req: IncomingMessage,
    res: ServerResponse,
    idleTimeout: number,
  ) {
    this.chunks = req[Symbol.asyncIterator]();
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (!this.continued) {
            this.continued = true;
            if (expectsContinue(req)) res.writeContinue();
          }
          const { value, done } = await this.nextChunk(idleTimeout);
          if (done) controller.close();
          else {
            this.received += value.length;
            controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
          }
        },
      },
      { highWaterMark: 0 }, // no read-ahead: nothing is read, and no 100 Continue sent, until the app asks
    );
  }

  /** The next chunk, or an error once the client has sent nothing for `idleTimeout` ms while we wait. */
  private async nextChunk(idleTimeout: number): Promise<IteratorResult<Buffer>> {
    if (idleTimeout <= 0) return this.chunks.next();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.timedOut = true;
        reject(new Error(`no data for ${idleTimeout / 1000} seconds (BODY_IDLE_TIMEOUT)`));
      }, idleTimeout);
    });
    try {
      return await Promise.race([this.chunks.next(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  async discardRest(): Promise<void> {
    const timer = setTimeout(() => this.req.destroy(), DISCARD_MS);
    let discarded = 0;
    try {
      for (;;) {
        const { done, value } = await this.chunks.next();
        if (done) break;
        discarded += value.length;
        if (discarded > DISCARD_BYTES) {
          this.req.destroy();
          break;
        }
      }
    } catch {
      // the client went away: nothing left to discard
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Writes the response; returns the body bytes handed to the socket. */
async function writeResponse(req: IncomingMessage, res: ServerResponse, response: Response): Promise<number> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  const kept = cachedAnswerOf(response);
  if (kept) {
    res.writeHead(response.status, headers);
    res.end(kept.body); // an answer kept by the response cache: its bytes as they are
    return kept.body.length;
  }
  const pkg = packageBodyOf(response);
  if (req.method === "HEAD" || !response.body) {
    res.writeHead(response.status, headers);
    if (pkg) await pkg.reader.close();
    else await response.body?.cancel();
    res.end();
    return 0;
  }
  if (pkg) {
    res.writeHead(response.status, headers);
    return sendPackage(res, pkg).finally(() => pkg.reader.close());
  }
  // Every other body the app makes is small (JSON, HTML, text): one buffer, one
  // write with a Content-Length, instead of a chunked stream of small writes.
  const buffer = Buffer.from(await response.arrayBuffer());
  headers["content-length"] ??= String(buffer.length);
  res.writeHead(response.status, headers);
  res.end(buffer);
  return buffer.length;
}

const SMALL_BODY = 128 * 1024;

/**
 * Sends a package range: a small one in one write, a large one chunk by chunk,
 * the next read only once the socket has taken the last, so a client that
 * reads slowly (or not at all) holds at most one chunk of our memory until
 * SEND_TIMEOUT cuts it. Returns the bytes sent.
 */
async function sendPackage(res: ServerResponse, body: PackageBody): Promise<number> {
  const length = body.end - body.start + 1;
  const chunks = body.reader.read(body.start, body.end);
  if (length <= SMALL_BODY) {
    const parts: Uint8Array[] = [];
    try {
      for await (const chunk of chunks) parts.push(chunk);
    } catch (err) {
      res.destroy(err as Error);
      return 0;
    }
    res.end(parts.length === 1 ? parts[0] : Buffer.concat(parts), () => body.onComplete?.());
    return length;
  }
  let sent = 0;
  try {
    if (body.reader.readInto) sent = await sendReused(res, body, body.reader.readInto.bind(body.reader));
    else {
      for await (const chunk of chunks) {
        if (res.destroyed) break;
        sent += chunk.length;
        if (!res.write(chunk)) await drained(res);
      }
    }
    if (!res.destroyed) await new Promise<void>((resolve) => res.end(resolve));
  } catch (err) {
    res.destroy(err as Error);
  }
  if (res.writableFinished) body.onComplete?.();
  return sent;
}

// A download's chunk starts at 32 KiB and doubles with every chunk the client
// takes, up to 1 MiB: a large package then moves in few, large writes
// (100 MiB: 0.9 GB/s with 32 KiB chunks, 2.5 with 1 MiB, on the benchmark
// machine). The growth of all downloads together is bounded by one budget,
// so many slow or stalled readers hold 32 KiB each beyond it. A download that
// grows takes one 1 MiB buffer and uses more of it with each chunk; a few of
// those buffers are kept for the next downloads when the socket is done with
// them. Allocating and freeing buffers of every size per download left the
// allocator's heap fragmented: resident memory stayed tens of MiB above what
// the process held (test/hostile-clients.e2e.test.ts failed on it now and then).
const FIRST_CHUNK = 32 * 1024;
const LARGEST_CHUNK = 1024 * 1024;
const GROWTH_BUDGET = 32 * 1024 * 1024;
const SPARE_BUFFERS = 4;
let grown = 0; // bytes of growth lent to downloads under way
const spare: Buffer[] = []; // LARGEST_CHUNK buffers no write refers to any more

/**
 * Sends a range through one buffer: once the socket has drained, the kernel
 * has taken the chunk and the buffer is free again, so a download makes no
 * garbage; only a write still pending when the socket asks for more needs a
 * fresh one.
 */
async function sendReused(res: ServerResponse, body: PackageBody, readInto: (buffer: Uint8Array, position: number) => Promise<number>): Promise<number> {
  let position = body.start;
  let size = FIRST_CHUNK;
  let buffer: Buffer = Buffer.allocUnsafe(FIRST_CHUNK);
  let lent = 0;
  try {
    while (position <= body.end && !res.destroyed) {
      const chunk = buffer.subarray(0, Math.min(size, body.end - position + 1));
      const bytesRead = await readInto(chunk, position);
      if (bytesRead === 0) throw new Error("the package ended before its indexed size");
      position += bytesRead;
      if (!res.write(chunk.subarray(0, bytesRead))) await drained(res);
      // A write still pending holds the buffer: the next chunk goes into another.
      const pending = res.writableLength > 0;
      if (size < LARGEST_CHUNK && lent === 0 && grown + LARGEST_CHUNK - FIRST_CHUNK <= GROWTH_BUDGET) {
        lent = LARGEST_CHUNK - FIRST_CHUNK;
        grown += lent;
        buffer = (pending ? undefined : spare.pop()) ?? Buffer.allocUnsafe(LARGEST_CHUNK);
      } else if (pending) buffer = Buffer.allocUnsafe(buffer.length);
      if (lent > 0 && size < LARGEST_CHUNK) size *= 2;
    }
  } finally {
    grown -= lent;
    // Kept only when no write can still read from it.
    if (buffer.length === LARGEST_CHUNK && !res.destroyed && res.writableLength === 0 && spare.length < SPARE_BUFFERS) spare.push(buffer);
  }
  return position - body.start;
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    // Closed already (the client went away between the write and now): no event is coming, and
    // waiting for one would keep the download's file open until garbage collection.
    if (res.destroyed || !res.writableNeedDrain) return resolve();
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
