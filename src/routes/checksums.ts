// Release downloads at GitHub's URLs: /releases/download/{tag}/{name} for an
// asset and /releases/download/{tag}/SHA256SUMS for the checksums of every
// asset in the release, in the format `sha256sum -c` checks. The tag "latest"
// (and /releases/latest/download/..., /latest/SHA256SUMS) means the latest view.
// At the root they act on the default repository; GitHub's web paths
// /{owner}/{repo}/releases/download/... act on the repository they name.

import { createHash } from "node:crypto";
import type { Deps, Handler } from "../context.js";
import { HttpError } from "../http.js";
import type { Release } from "../releases.js";
import { findRepository, repoContext } from "../github/repo-context.js";
import { checksumResponse, serveAsset } from "./assets.js";
import type { RouteSpec } from "./releases.js";
import { dependsOnIndex } from "../response-cache.js";

const SUMS_FILE = "SHA256SUMS";

export function checksumRoutes(deps: Deps): RouteSpec[] {
  const download = releaseDownload(deps);
  const latest: Handler = (ctx) => download({ ...ctx, params: { ...ctx.params, tag: "latest" } });
  return [
    ["GET", `/latest/${SUMS_FILE}`, (ctx) => download({ ...ctx, params: { tag: "latest", name: SUMS_FILE } })],
    ["GET", "/releases/latest/download/:name", latest],
    ["GET", "/releases/download/:tag/:name", download],
    ["GET", "/:owner/:repo/releases/latest/download/:name", latest],
    ["GET", "/:owner/:repo/releases/download/:tag/:name", download],
  ];
}

function releaseDownload(deps: Deps): Handler {
  return dependsOnIndex(async (ctx) => {
    const { request, params } = ctx;
    const repo = await findRepository(deps, params).catch(() => {
      throw new HttpError(404, `no repository ${params.owner}/${params.repo} on this server`);
    });
    const rc = await repoContext(deps, ctx, "", repo);
    const release = rc.model.byTag(params.tag);
    if (!release) throw new HttpError(404, `no release tagged "${params.tag}"; see ${rc.urls.web}/releases for the list`);
    if (params.name === SUMS_FILE) return sums(request, release);
    const entry = release.packages.find((p) => p.name === params.name);
    if (!entry) throw new HttpError(404, `the release "${release.tag}" has no asset named "${params.name}"`);
    return serveAsset(rc.deps, request, entry.name);
  });
}

function sums(request: Request, release: Release): Response {
  const etag = `"${createHash("sha256")
    .update(release.packages.map((p) => `${p.sha256} ${p.name}`).join("\n"))
    .digest("hex")
    .slice(0, 32)}"`;
  return checksumResponse(request, release.packages, etag);
}
