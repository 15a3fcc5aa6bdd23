// node:http <-> web-standard Request/Response. Package bodies skip the
// web-stream layer and go straight from the store's reader to the socket.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { App } from "../app.js";
import { packageBodyOf, type PackageBody } from "../package-body.js";
import { cachedAnswerOf } from "../response-cache.js";
import type { Serve } from "./types.js";
import { toRequest } from "./_node/request.js";

export const serve: Serve = async (app, { host, port, tls }) => {
  const scheme = tls ? "https" : "http";
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(app, req, res, scheme).catch((err) => {
      console.error("release-server: failed to answer a request:", err);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ detail: "internal server error" }));
    });
  };
  // requestTimeout 0: a large upload on a slow link may take longer than Node's default 5 minutes.
  const server = tls ? createHttpsServer({ requestTimeout: 0, cert: tls.cert, key: tls.key }, onRequest) : createServer({ requestTimeout: 0 }, onRequest);
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
  };
};

async function handle(app: App, req: IncomingMessage, res: ServerResponse, scheme: "http" | "https"): Promise<void> {
  const body = req.method !== "GET" && req.method !== "HEAD" ? new NodeBody(req, res) : null;
  const response = await app.fetch(toRequest(req, () => body?.stream ?? null, scheme));
  if (body && !req.complete) {
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
  await writeResponse(req, res, response);
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
  private readonly chunks: AsyncIterator<Buffer>;

  constructor(
    private readonly req: IncomingMessage,
    res: ServerResponse,
  ) {
    this.chunks = req[Symbol.asyncIterator]();
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (!this.continued) {
            this.continued = true;
            if (expectsContinue(req)) res.writeContinue();
          }
          const { value, done } = await this.chunks.next();
          if (done) controller.close();
          else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
        },
      },
      { highWaterMark: 0 }, // no read-ahead: nothing is read, and no 100 Continue sent, until the app asks
    );
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

async function writeResponse(req: IncomingMessage, res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  const kept = cachedAnswerOf(response);
  if (kept) {
    res.end(kept.body); // an answer kept by the response cache: its bytes as they are
    return;
  }
  const pkg = packageBodyOf(response);
  if (req.method === "HEAD" || !response.body) {
    if (pkg) await pkg.reader.close();
    else await response.body?.cancel();
    res.end();
    return;
  }
  if (pkg) {
    await sendPackage(res, pkg).finally(() => pkg.reader.close());
    return;
  }
  // Every other body the app makes is small (JSON, HTML, text): one buffer, one
  // write with a Content-Length, instead of a chunked stream of small writes.
  res.end(Buffer.from(await response.arrayBuffer()));
}

const SMALL_BODY = 128 * 1024;

/** Sends a package range: a small one in one write, a large one streamed with back-pressure. */
async function sendPackage(res: ServerResponse, body: PackageBody): Promise<void> {
  const length = body.end - body.start + 1;
  const chunks = body.reader.read(body.start, body.end);
  if (length <= SMALL_BODY) {
    const parts: Uint8Array[] = [];
    try {
      for await (const chunk of chunks) parts.push(chunk);
    } catch (err) {
      res.destroy(err as Error);
      return;
    }
    const buffer = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    res.end(buffer, () => body.onComplete?.());
    return;
  }
  await pipeline(Readable.from(chunks, { objectMode: false }), res).catch(() => {}); // a client that goes away is not an error
  if (res.writableFinished) body.onComplete?.();
}
