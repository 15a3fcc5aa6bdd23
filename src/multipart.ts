// Reads a multipart/form-data upload: the single file part named "file" is
// streamed into a temp file (never held in memory); small text fields are
// collected; anything else is refused with a clear 400.

import type busboy from "busboy";
import { once } from "node:events";
import { HttpError } from "./http.js";
import { UploadAbortedError, type PackageStore, type StagedUpload } from "./store/index.js";

export interface MultipartUpload {
  filename: string;
  staged: StagedUpload;
  fields: Map<string, string>;
}

const MAX_FIELD_BYTES = 8 * 1024;
const MAX_FIELDS = 20;

/** Bytes a multipart body may carry beyond its file: boundaries, part headers and text fields. */
export const MULTIPART_OVERHEAD = MAX_FIELDS * (MAX_FIELD_BYTES + 1024) + 64 * 1024;

export interface ReceiveOptions {
  storage: PackageStore;
  maxBytes: number;
  /** Called with the file name before any of its bytes are stored; throws to refuse the upload. */
  checkName: (filename: string) => void | Promise<void>;
}

let loaded: Promise<typeof busboy> | null = null;

/** busboy is loaded by the first multipart upload: about 3 MB of an idle server's memory otherwise. */
function loadBusboy(): Promise<typeof busboy> {
  return (loaded ??= import("busboy").then((m) => m.default));
}

export async function receiveMultipart(request: Request, opts: ReceiveOptions): Promise<MultipartUpload> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data\s*;/i.test(contentType) || !request.body) {
    throw new HttpError(400, 'expected a multipart/form-data body with a "file" part, as sent by curl -F "file=@package.zip"');
  }
  const makeParser = await loadBusboy();
  let parser: busboy.Busboy;
  try {
    parser = makeParser({
      headers: { "content-type": contentType },
      defParamCharset: "utf8",
      // Keep the name as sent, so "dir/x.zip" or "../x.zip" is refused rather than stored as "x.zip".
      preservePath: true,
      limits: { fieldSize: MAX_FIELD_BYTES, fields: MAX_FIELDS },
    });
  } catch (err) {
    throw new HttpError(400, `the multipart body cannot be read: ${(err as Error).message}`);
  }

  const fields = new Map<string, string>();
  let upload: Promise<{ filename: string; staged: StagedUpload }> | null = null;
  let failure: unknown = null;
  let signalFailure!: () => void;
  const failed = new Promise<void>((resolve) => (signalFailure = resolve));
  const fail = (err: unknown) => {
    failure ??= err;
    signalFailure();
  };

  parser.on("field", (name, value, info) => {
    if (name === "file") fail(new HttpError(400, 'the "file" part has no filename; send it as a file (curl -F "file=@package.zip")'));
    else if (info.valueTruncated) fail(new HttpError(400, `the form field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`));
    else fields.set(name, value);
  });
  parser.on("fieldsLimit", () => fail(new HttpError(400, `the form has more than ${MAX_FIELDS} text fields`)));
  parser.on("file", (name, stream, info) => {
    // Listened to from the start: a body that ends mid-part errors this stream, maybe before anyone reads it.
    // (An AbortError only says that our own reader stopped early; the reason for that is reported where it stopped.)
    stream.on("error", (err: Error) => {
      if (err.name !== "AbortError") fail(new HttpError(400, `the multipart body is malformed: ${err.message}`));
    });
    if (upload !== null || name !== "file") {
      stream.resume();
      fail(
        upload !== null
          ? new HttpError(400, "the form has more than one file part; upload one file per request")
          : new HttpError(400, `unexpected file part "${name}"; the package must be sent in the "file" part`),
      );
      return;
    }
    const filename = info.filename ?? "";
    // The part's bytes wait in its stream while the name is checked.
    const receiving = (async () => {
      await opts.checkName(filename);
      return { filename, staged: await opts.storage.stage(stream, opts.maxBytes) };
    })();
    upload = receiving;
    receiving.catch((err) => {
      stream.resume();
      fail(err);
    });
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on("close", resolve);
    parser.on("error", (err: Error) => reject(new HttpError(400, `the multipart body is malformed: ${err.message}`)));
  });
  parsed.catch(fail);

  await feed(request.body, parser, failed, () => failure !== null).catch(fail);
  await Promise.race([parsed, failed]);
  const result = await (upload as Promise<{ filename: string; staged: StagedUpload }> | null)?.catch(() => null);
  if (failure !== null) {
    if (result) await opts.storage.discard(result.staged);
    throw failure;
  }
  if (!result) throw new HttpError(400, 'the form has no "file" part; send the package as curl -F "file=@package.zip"');
  return { ...result, fields };
}

/** Writes the request body into the parser, honouring back-pressure, until the end or a failure. */
async function feed(body: ReadableStream<Uint8Array>, parser: busboy.Busboy, failed: Promise<void>, hasFailed: () => boolean): Promise<void> {
  const reader = body.getReader();
  try {
    while (!hasFailed()) {
      const { done, value } = await reader.read();
      if (done) {
        parser.end();
        return;
      }
      if (!parser.write(value)) await Promise.race([once(parser, "drain"), failed]);
    }
  } catch (err) {
    // The client went away mid-upload: this also fails the file part, which removes its temp file.
    const interrupted = new UploadAbortedError(`the upload was interrupted before it was complete (${(err as Error).message}); nothing was stored`);
    parser.destroy(interrupted);
    throw interrupted;
  } finally {
    reader.releaseLock();
  }
}
