// A response body read from an opened package. The handler opens the package
// before answering, so the bytes served are the ones that existed at that
// moment, even if the package is overwritten or deleted while the client
// downloads.
//
// Every runtime can read the body as a web ReadableStream. The Node adapter
// instead takes the reader itself (packageBodyOf) and writes its chunks to the
// socket, which skips the web-stream layer on the hot path.

import type { PackageReader } from "./store/index.js";

export interface PackageBody {
  reader: PackageReader;
  start: number; // first byte offset
  end: number; // last byte offset, inclusive; end < start for an empty body
  /** Called once, when the whole range has been handed to the client. */
  onComplete?: () => void;
}

const PACKAGE_BODY = Symbol("package-body");

export function packageResponse(body: PackageBody, init: ResponseInit): Response {
  const response = new Response(toWebStream(body), init);
  (response as Response & { [PACKAGE_BODY]?: PackageBody })[PACKAGE_BODY] = body;
  return response;
}

/** The package behind a response made by packageResponse, for adapters with a faster path. */
export function packageBodyOf(response: Response): PackageBody | undefined {
  return (response as Response & { [PACKAGE_BODY]?: PackageBody })[PACKAGE_BODY];
}

function toWebStream(body: PackageBody): ReadableStream<Uint8Array> {
  let chunks: AsyncIterator<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        chunks ??= body.reader.read(body.start, body.end)[Symbol.asyncIterator]();
        try {
          const { done, value } = await chunks.next();
          if (!done) {
            controller.enqueue(value);
            return;
          }
        } catch (err) {
          await body.reader.close();
          controller.error(err);
          return;
        }
        await body.reader.close();
        controller.close();
        body.onComplete?.();
      },
      async cancel() {
        await chunks?.return?.();
        await body.reader.close();
      },
    },
    // Read nothing until a consumer asks: the Node adapter never does, it sends the package itself.
    { highWaterMark: 0 },
  );
}
