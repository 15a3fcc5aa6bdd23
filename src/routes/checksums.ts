// Release downloads at GitHub's URLs: /releases/download/{tag}/{name} for an
// asset and /releases/download/{tag}/SHA256SUMS for the checksums of every
// asset in the release, in the format `sha256sum -c` checks. The tag "latest"
// (and /releases/latest/download/..., /latest/SHA256SUMS) means the latest view.

import { createHash } from "node:crypto";
import type { Deps, Handler } from "../context.js";
import { HttpError } from "../http.js";
import { releaseModel, type Release } from "../releases.js";
import { checksumResponse, serveAsset } from "./assets.js";
import type { RouteSpec } from "./releases.js";
import { dependsOnIndex } from "../response-cache.js";

const SUMS_FILE = "SHA256SUMS";

export function checksumRoutes(deps: Deps): RouteSpec[] {
  const download = releaseDownload(deps);
  return [
    ["GET", `/latest/${SUMS_FILE}`, (ctx) => download({ ...ctx, params: { tag: "latest", name: SUMS_FILE } })],
    ["GET", "/releases/latest/download/:name", (ctx) => download({ ...ctx, params: { tag: "latest", name: ctx.params.name } })],
    ["GET", "/releases/download/:tag/:name", download],
  ];
}

function releaseDownload(deps: Deps): Handler {
  return dependsOnIndex(async ({ request, params }) => {
    const release = releaseModel(await deps.storage.list()).byTag(params.tag);
    if (!release) throw new HttpError(404, `no release tagged "${params.tag}"; see /releases for the list`);
    if (params.name === SUMS_FILE) return sums(request, release);
    const entry = release.packages.find((p) => p.name === params.name);
    if (!entry) throw new HttpError(404, `the release "${release.tag}" has no asset named "${params.name}"`);
    return serveAsset(deps, request, entry.name);
  });
}

function sums(request: Request, release: Release): Response {
  const etag = `"${createHash("sha256")
    .update(release.packages.map((p) => `${p.sha256} ${p.name}`).join("\n"))
    .digest("hex")
    .slice(0, 32)}"`;
  return checksumResponse(request, release.packages, etag);
}
