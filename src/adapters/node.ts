// node:http <-> web-standard Request/Response. File bodies skip the web-stream
// layer and go straight from the file to the socket.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { App } from "../app.js";
import { fileBodyOf } from "../file-body.js";
import type { Serve } from "./types.js";

export const serve: Serve = async (app, { host, port }) => {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(app, req, res).catch((err) => {
      console.error("release-server: failed to answer a request:", err);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ detail: "internal server error" }));
    });
  };
  // requestTimeout 0: a large upload on a slow link may take longer than Node's default 5 minutes.
  const server = createServer({ requestTimeout: 0 }, onRequest);
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
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
    forceClose: () => server.closeAllConnections(),
  };
};

async function handle(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const response = await app.fetch(toRequest(req, res));
  await writeResponse(req, res, response);
}

function toRequest(req: IncomingMessage, res: ServerResponse): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  const host = req.headers.host && /^[A-Za-z0-9.\-_~:[\]]+$/.test(req.headers.host) ? req.headers.host : "localhost";
  // Only origin-form targets ("/path?query"); anything else is answered 404 by the router.
  const target = req.url?.startsWith("/") ? req.url : "/";
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(`http://${host}${target}`, {
    method,
    headers,
    body: hasBody ? bodyStream(req, res) : null,
    // @ts-expect-error: Node's fetch needs duplex for streamed request bodies; the DOM types lack it.
    duplex: "half",
  });
}

/** The request body as a web stream that reads from the socket only when pulled. */
function bodyStream(req: IncomingMessage, res: ServerResponse): ReadableStream<Uint8Array> {
  const chunks = req[Symbol.asyncIterator]();
  let started = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started) {
          started = true;
          if (/^100-continue$/i.test(req.headers.expect ?? "")) res.writeContinue();
        }
        const { value, done } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
    },
    { highWaterMark: 0 }, // no read-ahead: nothing is read, and no 100 Continue sent, until the app asks
  );
}

async function writeResponse(req: IncomingMessage, res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  // A body the app did not read (a refused upload) may still be on its way:
  // close the connection after answering rather than reading it all.
  if (!req.complete) headers.connection = "close";
  res.writeHead(response.status, headers);
  const file = fileBodyOf(response);
  if (req.method === "HEAD" || !response.body) {
    if (file) await file.handle.close();
    else await response.body?.cancel();
    res.end();
    return;
  }
  if (file) {
    const stream = file.handle.createReadStream({ start: file.start, end: file.end, autoClose: true });
    await pipeline(stream, res).catch(() => {}); // a client that goes away is not an error
    if (res.writableFinished) file.onComplete?.();
    return;
  }
  await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), res).catch(() => {});
}
