// A response body read from an open file. The handler opens the file before
// answering, so the bytes served are the ones that existed at that moment,
// even if the package is overwritten or deleted while the client downloads.
//
// Every runtime can read the body as a web ReadableStream. The Node adapter
// instead takes the file itself (fileBodyOf) and streams it natively, which
// skips the web-stream layer on the hot path.

import type { FileHandle } from "node:fs/promises";

export interface FileBody {
  handle: FileHandle;
  start: number; // first byte offset
  end: number; // last byte offset, inclusive; end < start for an empty body
  /** Called once, when the whole range has been handed to the client. */
  onComplete?: () => void;
}

const FILE_BODY = Symbol("file-body");
const CHUNK = 256 * 1024;

export function fileResponse(body: FileBody, init: ResponseInit): Response {
  const response = new Response(toWebStream(body), init);
  (response as Response & { [FILE_BODY]?: FileBody })[FILE_BODY] = body;
  return response;
}

/** The file behind a response made by fileResponse, for adapters with a faster path. */
export function fileBodyOf(response: Response): FileBody | undefined {
  return (response as Response & { [FILE_BODY]?: FileBody })[FILE_BODY];
}

function toWebStream(body: FileBody): ReadableStream<Uint8Array> {
  let position = body.start;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await body.handle.close();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const remaining = body.end - position + 1;
        if (remaining <= 0) {
          await close();
          controller.close();
          body.onComplete?.();
          return;
        }
        const buffer = new Uint8Array(Math.min(CHUNK, remaining));
        const { bytesRead } = await body.handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) {
          await close();
          controller.error(new Error("the file ended before the expected length"));
          return;
        }
        position += bytesRead;
        controller.enqueue(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      },
      cancel: close,
    },
    // Read nothing until a consumer asks: the Node adapter never does, it sends the file itself.
    { highWaterMark: 0 },
  );
}
