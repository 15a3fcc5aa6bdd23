import type { Deps, Handler } from "../context.js";
import { fileResponse } from "../file-body.js";
import { contentDisposition, HttpError } from "../http.js";
import type { PackageEntry } from "../storage.js";
import { requireValidName } from "./packages.js";

/** GET and HEAD /assets/{name}: the package's bytes. */
export function downloadAsset(deps: Deps): Handler {
  return async ({ request, params }) => {
    const name = requireValidName(params.name);
    if (request.method === "HEAD") {
      const entry = await deps.storage.get(name);
      if (!entry) throw notFound(name);
      return new Response(null, { headers: assetHeaders(entry) });
    }
    const opened = await deps.storage.openPackage(name);
    if (!opened) throw notFound(name);
    const { entry, handle } = opened;
    return fileResponse({ handle, start: 0, end: entry.size - 1 }, { headers: assetHeaders(entry) });
  };
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
