import type { Deps, Handler } from "../context.js";
import { fileResponse } from "../file-body.js";
import { contentDisposition, HttpError } from "../http.js";
import type { PackageEntry } from "../storage.js";
import { requireValidName } from "./packages.js";

/** GET and HEAD /assets/{name}: the package's bytes. */
export function downloadAsset(deps: Deps): Handler {
  return ({ request, params }) => serveAsset(deps, request, requireValidName(params.name));
}

/** Answers a GET or HEAD for a package's bytes; shared by /assets and the release API. */
export async function serveAsset(deps: Deps, request: Request, name: string): Promise<Response> {
  if (request.method === "HEAD") {
    const entry = await deps.storage.get(name);
    if (!entry) throw notFound(name);
    return new Response(null, { headers: assetHeaders(entry) });
  }
  const opened = await deps.storage.openPackage(name);
  if (!opened) throw notFound(name);
  const { entry, handle } = opened;
  const onComplete = () => deps.onDownloadComplete?.(entry);
  return fileResponse({ handle, start: 0, end: entry.size - 1, onComplete }, { headers: assetHeaders(entry) });
}

function assetHeaders(entry: PackageEntry): Record<string, string> {
  return {
    "content-type": "application/octet-stream",
    "content-length": String(entry.size),
    "content-disposition": contentDisposition(entry.name),
    etag: `"${entry.sha256}"`,
    "last-modified": entry.createdAt.toUTCString(),
  };
}

function notFound(name: string): HttpError {
  return new HttpError(404, `no package named "${name}"`);
}
