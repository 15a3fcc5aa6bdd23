// Package downloads, done the way the best static file servers do them: HEAD,
// single byte ranges, strong ETags from the sha256, conditional requests and
// RFC 9530 Repr-Digest, so a client can resume a download and verify it.

import { cacheControlFor } from "../cache-policy.js";
import { evaluatePreconditions, rangeStillValid, type Validators } from "../conditional.js";
import type { Deps, Handler } from "../context.js";
import { packageResponse } from "../package-body.js";
import { contentDisposition, HttpError, json } from "../http.js";
import { SIDECAR_SUFFIX } from "../names.js";
import { evaluateRange } from "../range.js";
import { dependsOnIndex } from "../response-cache.js";
import type { PackageEntry, PackageReader } from "../store/index.js";
import { requireValidName } from "./packages.js";

/** GET and HEAD /assets/{name}; /assets/{name}.sha256 is its checksum in `sha256sum` format. */
export function downloadAsset(deps: Deps): Handler {
  return dependsOnIndex(async ({ request, params }) => {
    const name = params.name;
    if (name.endsWith(SIDECAR_SUFFIX)) {
      const packageName = requireValidName(name.slice(0, -SIDECAR_SUFFIX.length));
      const entry = await deps.storage.get(packageName);
      if (!entry) throw notFound(packageName);
      return checksumResponse(request, [entry], `"${entry.sha256}.sha256"`);
    }
    return serveAsset(deps, request, requireValidName(name));
  });
}

/** Answers a GET or HEAD for a package's bytes; shared by /assets and the release API. */
export async function serveAsset(deps: Deps, request: Request, name: string): Promise<Response> {
  // Opened first, for HEAD too: the store checks that the digest describes
  // these very bytes, and the open reader pins them even if the package is
  // overwritten or deleted while the client downloads.
  const opened = await deps.storage.open(name);
  if (!opened) throw notFound(name);
  const { entry } = opened;

  const validators: Validators = { etag: `"${entry.sha256}"`, lastModified: entry.createdAt };
  const headers = new Headers({
    "accept-ranges": "bytes",
    etag: validators.etag,
    "last-modified": entry.createdAt.toUTCString(),
    "cache-control": cacheControlFor(entry.name),
  });
  const precondition = evaluatePreconditions(request.method, request.headers, validators);
  if (precondition !== "proceed") {
    await opened.close();
    if (precondition === "not-modified") return new Response(null, { status: 304, headers });
    throw new HttpError(412, `the package "${name}" does not match the request's If-Match / If-Unmodified-Since condition`);
  }

  const direct = request.method === "GET" ? await redirect(deps, opened, headers, request) : null;
  if (direct) return direct;

  const range = rangeStillValid(request.headers, validators)
    ? evaluateRange(request.headers.get("range"), entry.size)
    : ({ kind: "full" } as const);
  if (range.kind === "unsatisfiable") {
    await opened.close();
    headers.set("content-range", `bytes */${entry.size}`);
    return json({ detail: `the requested range is outside the package's ${entry.size} bytes` }, 416, headers);
  }
  const [start, end] = range.kind === "partial" ? [range.start, range.end] : [0, entry.size - 1];
  headers.set("content-type", "application/octet-stream");
  headers.set("content-length", String(end - start + 1));
  headers.set("content-disposition", contentDisposition(entry.name));
  headers.set("repr-digest", reprDigest(entry));
  const status = range.kind === "partial" ? 206 : 200;
  if (range.kind === "partial") headers.set("content-range", `bytes ${start}-${end}/${entry.size}`);
  if (request.method === "HEAD") {
    await opened.close();
    return new Response(null, { status, headers });
  }
  // Only a download of the whole package counts as one.
  const onComplete = range.kind === "full" ? () => deps.onDownloadComplete?.(entry) : undefined;
  return packageResponse({ reader: opened, start, end, onComplete }, { status, headers });
}

/**
 * With S3_REDIRECT_DOWNLOADS the bytes come straight from the object storage:
 * a 302 to a short-lived presigned URL (which honours Range itself), with our
 * validators and digest, so a client still verifies what it receives.
 */
async function redirect(deps: Deps, opened: PackageReader, headers: Headers, request: Request): Promise<Response | null> {
  if (!opened.directUrl) return null;
  const location = await opened.directUrl().finally(() => opened.close());
  headers.set("location", location);
  headers.set("repr-digest", reprDigest(opened.entry));
  headers.set("cache-control", "private, no-store"); // the URL expires
  if (!request.headers.has("range")) deps.onDownloadComplete?.(opened.entry);
  return new Response(null, { status: 302, headers });
}

/** `<hex>  <name>` lines, the format `sha256sum -c` checks. */
export function checksumResponse(request: Request, entries: readonly PackageEntry[], etag: string): Response {
  const headers = { etag, "cache-control": "public, no-cache", "content-type": "text/plain; charset=utf-8" };
  if (request.headers.get("if-none-match")?.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(entries.map((e) => `${e.sha256}  ${e.name}\n`).join(""), { headers });
}

/** RFC 9530: the digest of the whole package, whatever range this response carries. */
function reprDigest(entry: PackageEntry): string {
  return `sha-256=:${Buffer.from(entry.sha256, "hex").toString("base64")}:`;
}

function notFound(name: string): HttpError {
  return new HttpError(404, `no package named "${name}"`);
}
