// What a GitHub-style request needs about its repository: which one the path
// names (the default repository at the root), its release model as this
// viewer sees it, and the URLs of its objects.

import { presentsToken } from "../auth.js";
import type { Deps, RequestContext } from "../context.js";
import { HttpError } from "../http.js";
import { publicBaseUrl } from "../public-url.js";
import type { AssetExtras, DownloadCount, UrlBases } from "../releases.js";
import { repositoryModel, type RepositoryModel } from "./model.js";
import type { Repository } from "./repositories.js";

export interface RepoContext {
  repo: Repository;
  model: RepositoryModel;
  urls: UrlBases;
  extras: AssetExtras;
  downloads: DownloadCount;
  /** The request carries the server's token: drafts are visible. */
  privileged: boolean;
  /** Deps whose storage and download hooks are this repository's, for serving its packages. */
  deps: Deps;
}

const tokenCheckers = new WeakMap<Deps, (request: Request) => boolean>();

export function isPrivileged(deps: Deps, request: Request): boolean {
  let check = tokenCheckers.get(deps);
  if (!check) tokenCheckers.set(deps, (check = presentsToken(deps.config.authToken)));
  return check(request);
}

export function notFound(): HttpError {
  return new HttpError(404, "Not Found");
}

/** The repository named by the path's owner and repo (the default one when the path has none); GitHub's 404 when there is none. */
export async function findRepository(deps: Deps, params: Record<string, string>): Promise<Repository> {
  if (params.owner === undefined) return deps.repositories.default;
  const repo = await deps.repositories.find(params.owner, params.repo);
  if (!repo) throw notFound();
  return repo;
}

/** `prefix` is the route prefix the request came in on ("", "/repos/:owner/:repo", "/api/v3/repos/:owner/:repo"). */
export async function repoContext(deps: Deps, ctx: RequestContext, prefix: string, repo?: Repository): Promise<RepoContext> {
  repo ??= await findRepository(deps, ctx.params);
  const privileged = isPrivileged(deps, ctx.request);
  const [packages, doc] = await Promise.all([repo.store.list(), repo.releases()]);
  const model = repositoryModel(packages, doc, privileged);
  const site = publicBaseUrl(ctx.request, deps.config);
  const path = prefix
    .replace(":owner", () => encodeURIComponent(ctx.params.owner))
    .replace(":repo", () => encodeURIComponent(ctx.params.repo));
  const web = repo.isDefault ? site : `${site}/${repo.name.key}`;
  const urls: UrlBases = { site, api: site + path, web, uploads: `${site}/api/uploads/repos/${repo.name.key}` };
  const extras: AssetExtras = {
    meta: (name) => doc.assets[name],
    downloadUrl: (p) => {
      if (repo.isDefault) return `${site}/assets/${encodeURIComponent(p.name)}`;
      const tag = model.releaseOf(p.name)?.tag ?? "latest";
      return `${web}/releases/download/${encodeURIComponent(tag)}/${encodeURIComponent(p.name)}`;
    },
  };
  const downloads: DownloadCount = (entry) => repo.downloads.count(entry);
  const repoDeps: Deps = repo.isDefault ? deps : { ...deps, storage: repo.store, onDownloadComplete: (e) => repo.downloads.record(e), downloadCount: downloads };
  return { repo, model, urls, extras, downloads, privileged, deps: repoDeps };
}
