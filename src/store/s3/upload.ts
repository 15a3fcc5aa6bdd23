// Streams an upload into one object, hashing it on the way: a single PUT when
// the body fits in one part, a multipart upload otherwise. Two part buffers of
// our own (one being sent, one being filled), whatever the size.
// On any failure the multipart upload is aborted, so nothing is left behind.

import { createHash } from "node:crypto";
import { uploadChunks } from "../upload-chunks.js";
import type { S3Client } from "./client.js";

export const MIN_PART_SIZE = 8 * 1024 * 1024; // S3's minimum is 5 MiB
const MAX_PARTS = 1000; // Swift's limit; AWS allows 10,000

export interface Uploaded {
  size: number;
  sha256: string;
}

// Each part is a buffer of this size, so it is bounded well below what one buffer may hold; objects
// past MAX_PARTS of these (1,000 GiB) are refused by the object store at the part that exceeds it.
const MAX_PART_SIZE = 1024 * 1024 * 1024;

/** The part size that fits `maxBytes` into the allowed number of parts. */
export function partSizeFor(maxBytes: number): number {
  return Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, Math.ceil(maxBytes / MAX_PARTS)));
}

export async function uploadStream(
  client: S3Client,
  key: string,
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  headers: Record<string, string> = {},
): Promise<Uploaded> {
  const partSize = partSizeFor(maxBytes);
  const hash = createHash("sha256");
  let size = 0;
  // Two part buffers, filled in turn and reused: one being sent while the other fills. Each chunk is
  // copied straight into place, once; keeping copies of the chunks and joining them made two more
  // copies of every byte. (fetch still copies each part it sends: that garbage, not these buffers, is
  // most of what a large upload adds to the process; docs/object-storage.md has the figure.)
  const buffers: Buffer[] = [];
  let part: Buffer | null = null;
  let filled = 0;
  let uploadId: string | null = null;
  const etags: string[] = [];
  let sending: Promise<void> = Promise.resolve();

  const sendPart = async (body: Buffer) => {
    await sending; // one part in flight; the buffer it used is free again
    uploadId ??= await client.createMultipart(key, headers);
    const id = uploadId;
    const n = etags.length + 1;
    etags.push("");
    sending = client.uploadPart(key, id, n, body).then((etag) => {
      etags[n - 1] = etag;
    });
    sending.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
  };

  try {
    for await (const chunk of uploadChunks(source, maxBytes, hash)) {
      size += chunk.length;
      // Copied: a runtime may reuse the chunk's memory once we ask for the next one.
      for (let at = 0; at < chunk.length; ) {
        part ??= buffers[etags.length % 2] ??= Buffer.allocUnsafe(partSize);
        const n = Math.min(chunk.length - at, partSize - filled);
        part.set(chunk.subarray(at, at + n), filled);
        at += n;
        filled += n;
        if (filled === partSize) {
          await sendPart(part);
          part = null;
          filled = 0;
        }
      }
    }
    const rest = part ? part.subarray(0, filled) : Buffer.alloc(0);
    if (uploadId === null) {
      await client.put(key, rest, headers);
    } else {
      if (rest.length > 0) await sendPart(rest);
      await sending;
      await client.completeMultipart(key, uploadId, etags);
    }
  } catch (err) {
    await sending.catch(() => {});
    if (uploadId !== null) await client.abortMultipart(key, uploadId).catch(() => {});
    throw err;
  }
  return { size, sha256: hash.digest("hex") };
}
