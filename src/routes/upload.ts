// Uploads: POST /upload (multipart, the older server's API) and PUT /assets/{name}
// (the raw body, as `curl -T` sends it). Every check that can be made before
// the body arrives is made first, so a request with `Expect: 100-continue` is
// refused before the client sends its bytes.

import { checkSha256, expectedSha256 } from "../checksum.js";
import { booleanWord } from "../config.js";
import type { Deps, Handler } from "../context.js";
import { HttpError, json } from "../http.js";
import { MULTIPART_OVERHEAD, receiveMultipart } from "../multipart.js";
import { refuseImmutableAsset, retentionCandidates } from "../github/older-api.js";
import { packageJson } from "../package-json.js";
import { packagesToDelete } from "../retention.js";
import { ConflictError, type PackageEntry, type StagedUpload } from "../store/index.js";
import { requireValidName } from "./packages.js";

/** POST /upload?overwrite=: the package is the multipart "file" part. */
export function uploadPackage(deps: Deps): Handler {
  const authorize = deps.auth.authorize;
  return async ({ request, url }) => {
    authorize(request);
    const overwrite = booleanParam(url, "overwrite");
    checkDeclaredLength(request, deps.config.maxUploadSize + MULTIPART_OVERHEAD, deps.config.maxUploadSize);
    const upload = await receiveMultipart(request, {
      storage: deps.storage,
      maxBytes: deps.config.maxUploadSize,
      checkName: (filename) => checkTarget(deps, requireValidName(filename), overwrite),
    });
    const expected = () => expectedSha256(request.headers, { raw: false, formField: upload.fields.get("sha256") });
    const { entry, removed } = await store(deps, upload.staged, upload.filename, overwrite, expected);
    return json({ ...packageJson(entry), removed });
  };
}

/** PUT /assets/{name}?overwrite=: the package is the request body. 201 when new, 200 when replaced. */
export function putPackage(deps: Deps): Handler {
  const authorize = deps.auth.authorize;
  return async ({ request, url, params }) => {
    authorize(request);
    const name = requireValidName(params.name);
    const overwrite = booleanParam(url, "overwrite");
    checkDeclaredLength(request, deps.config.maxUploadSize, deps.config.maxUploadSize);
    await checkTarget(deps, name, overwrite);
    const stated = expectedSha256(request.headers, { raw: true }); // a malformed digest fails before the body is read
    if (!request.body) throw empty(name);
    const staged = await deps.storage.stage(request.body, deps.config.maxUploadSize);
    const { entry, replaced, removed } = await store(deps, staged, name, overwrite, () => stated);
    return json({ ...packageJson(entry), removed }, replaced ? 200 : 201, replaced ? {} : { location: `/assets/${encodeURIComponent(name)}` });
  };
}

/** Verifies a received upload, moves it into place, then applies retention (whose deletions it reports). */
async function store(deps: Deps, staged: StagedUpload, name: string, overwrite: boolean, expected: () => string | null) {
  try {
    if (staged.size === 0) throw empty(name);
    checkSha256(expected(), staged.sha256);
  } catch (err) {
    await deps.storage.discard(staged);
    throw err;
  }
  const result = await deps.storage.commit(staged, name, { overwrite }).catch((err) => {
    throw err instanceof ConflictError ? conflict(name) : err;
  });
  const { entry } = result;
  deps.log(`stored ${entry.name}`, { package: entry.name, size: entry.size, sha256: entry.sha256, replaced: result.replaced });
  return { ...result, removed: await applyRetention(deps) };
}

async function checkTarget(deps: Deps, name: string, overwrite: boolean): Promise<void> {
  if (!overwrite && (await deps.storage.get(name))) throw conflict(name);
  if (overwrite) await refuseImmutableAsset(deps, name);
}

function checkDeclaredLength(request: Request, allowed: number, limit: number): void {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > allowed) throw tooLarge(limit);
}

async function applyRetention(deps: Deps): Promise<string[]> {
  const { storage, config, log } = deps;
  const removed: string[] = [];
  if (config.maxPackages === 0) return removed;
  const choose = async (packages: readonly PackageEntry[]) => packagesToDelete(await retentionCandidates(deps, packages), config.maxPackages);
  const deleted = (name: string) => {
    removed.push(name);
    log(`retention: deleted ${name} (MAX_PACKAGES=${config.maxPackages})`, { package: name, reason: `more than MAX_PACKAGES=${config.maxPackages}, oldest and not the newest of its family` });
  };
  // A store shared by several replicas chooses and removes in one step.
  if (storage.prune) {
    for (const old of await storage.prune(choose)) deleted(old.name);
    return removed;
  }
  for (const old of await choose(await storage.list())) {
    if (await storage.remove(old.name)) deleted(old.name);
  }
  return removed;
}

function booleanParam(url: URL, key: string): boolean {
  const value = url.searchParams.get(key);
  if (value === null || value === "") return false;
  const b = booleanWord(value);
  if (b === undefined) throw new HttpError(422, `${key} must be true or false, not ${JSON.stringify(value)}`);
  return b;
}

function conflict(name: string): HttpError {
  return new HttpError(409, `a package named "${name}" already exists; add ?overwrite=true to replace it`);
}

function empty(name: string): HttpError {
  return new HttpError(400, `"${name}" is empty; refusing to store a zero-byte package`);
}

export function tooLarge(limit: number): HttpError {
  return new HttpError(413, `the upload is larger than MAX_UPLOAD_SIZE (${limit} bytes)`);
}
