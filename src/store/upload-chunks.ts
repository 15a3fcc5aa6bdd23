// An upload's bytes as every backend takes them in: hashed on the way,
// counted against the size limit, and with the two ways a body can go wrong
// turned into the store's errors, whatever the backend writes them to.

import type { Hash } from "node:crypto";
import { TooLargeError, UploadAbortedError } from "./errors.js";

/**
 * The chunks of `source`, each added to `hash` before it is handed on. A
 * source that fails (a client gone, a body cut off) is UploadAbortedError; one
 * past `maxBytes` is TooLargeError, after the source is told to stop.
 */
export async function* uploadChunks(source: AsyncIterable<Uint8Array>, maxBytes: number, hash: Hash): AsyncGenerator<Uint8Array> {
  const chunks = source[Symbol.asyncIterator]();
  let size = 0;
  for (;;) {
    let step: IteratorResult<Uint8Array>;
    try {
      step = await chunks.next();
    } catch (err) {
      throw new UploadAbortedError(`the upload was interrupted before it was complete (${(err as Error)?.message ?? err}); nothing was stored`);
    }
    if (step.done) return;
    size += step.value.length;
    if (size > maxBytes) {
      await chunks.return?.();
      throw new TooLargeError(`the upload is larger than the limit of ${maxBytes} bytes`);
    }
    hash.update(step.value);
    yield step.value;
  }
}
