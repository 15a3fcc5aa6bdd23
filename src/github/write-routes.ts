// GitHub's Releases API, the writing half: create, update (publish a draft,
// edit notes, rename the tag) and delete releases; update and delete assets;
// generate notes; upload assets as GitHub does (the raw body, ?name= and
// &label=, at the upload_url we advertise). Every change to release metadata
// goes through Repository.update (one atomic document per repository); the
// bytes go through the store like every other upload. Status codes and error
// bodies are GitHub's (see errors.ts).

import { checkSha256, expectedSha256 } from "../checksum.js";
import type { Deps, Handler, RequestContext } from "../context.js";
import { HttpError, json } from "../http.js";
import { nameProblem } from "../names.js";
import { assetJson, releaseJson, type Release } from "../releases.js";
import { ConflictError, InvalidNameError, type PackageEntry } from "../store/index.js";
import { tooLarge } from "../routes/upload.js";
import { GitHubError, githubErrorResponse, validationFailed } from "./errors.js";
import { newReleaseId, type RepositoryModel } from "./model.js";
import { releaseNotes } from "./notes.js";
import { tagProblem, type MakeLatest, type ReleaseRecord, type ReleasesDocument } from "./release-records.js";
import { notFound, repoContext, type RepoContext } from "./repo-context.js";
import type { Repository } from "./repositories.js";

type RouteSpec = [method: string, pattern: string, handler: Handler];

const DOCS = "https://docs.github.com/rest/releases";
const MAX_JSON_BYTES = 1024 * 1024;

/** The write routes under one API prefix ("" is the default repository). */
export function writeRoutes(deps: Deps, prefix: string): RouteSpec[] {
  const authorize = deps.auth.authorize;
  const guarded = (doc: string, fn: (ctx: RequestContext) => Promise<Response>): Handler =>
    guard(`${DOCS}/${doc}`, async (ctx) => {
      authorize(ctx.request);
      return fn(ctx);
    });
  const upload = guarded("assets#upload-a-release-asset", (ctx) => uploadAsset(deps, ctx, prefix));
  return [
    ["POST", `${prefix}/releases`, guarded("releases#create-a-release", (ctx) => createRelease(deps, ctx, prefix))],
    ["POST", `${prefix}/releases/generate-notes`, guarded("releases#generate-release-notes-content-for-a-release", (ctx) => generateNotes(deps, ctx, prefix))],
    ["PATCH", `${prefix}/releases/assets/:id`, guarded("assets#update-a-release-asset", (ctx) => updateAsset(deps, ctx, prefix))],
    ["DELETE", `${prefix}/releases/assets/:id`, guarded("assets#delete-a-release-asset", (ctx) => deleteAsset(deps, ctx, prefix))],
    ["PATCH", `${prefix}/releases/:id`, guarded("releases#update-a-release", (ctx) => updateRelease(deps, ctx, prefix))],
    ["DELETE", `${prefix}/releases/:id`, guarded("releases#delete-a-release", (ctx) => deleteRelease(deps, ctx, prefix))],
    ["POST", `${prefix}/releases/:id/assets`, upload],
    // The upload_url we advertise: GitHub Enterprise's layout, which go-github and gh build too.
    ...(prefix === "/api/v3/repos/:owner/:repo" ? ([["POST", "/api/uploads/repos/:owner/:repo/releases/:id/assets", upload]] as RouteSpec[]) : []),
  ];
}

function guard(documentationUrl: string, handler: Handler): Handler {
  return async (ctx) => {
    try {
      return await handler(ctx);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return githubErrorResponse(err, documentationUrl);
    }
  };
}

// ---------------------------------------------------------------------------
// Releases

async function createRelease(deps: Deps, ctx: RequestContext, prefix: string): Promise<Response> {
  const repo = await writableRepository(deps, ctx);
  const input = await readJsonObject(ctx.request);
  const tag = input.tag_name;
  if (tag === undefined) throw validationFailed({ resource: "Release", code: "missing_field", field: "tag_name" });
  checkTag(tag);
  const fields = releaseFields(input);
  const now = new Date();
  const rc0 = await repoContext(deps, ctx, prefix, repo);
  const body = fields.body ?? (input.generate_release_notes === true ? releaseNotes(tag as string, rc0.model.byTag(tag as string)?.packages ?? []).body : null);
  const record = await repo.update((doc) => {
    refuseTakenTag(doc, tag as string);
    const draft = fields.draft ?? false;
    const record: ReleaseRecord = {
      id: newReleaseId(repo.name.key, tag as string, now),
      tag_name: tag as string,
      name: fields.name ?? null,
      body,
      draft,
      prerelease: fields.prerelease ?? false,
      target_commitish: fields.target_commitish ?? "main",
      make_latest: fields.make_latest ?? "true",
      immutable: false,
      created_at: now.toISOString(),
      published_at: null,
      updated_at: now.toISOString(),
      latest_at: null,
      assets: [],
    };
    if (!draft) publish(deps, record, now);
    doc.releases.push(record);
    return record;
  });
  deps.log(`created release ${record.tag_name} (id ${record.id}${record.draft ? ", draft" : ""}) in ${repo.name.key}`);
  const rc = await repoContext(deps, ctx, prefix, repo);
  const release = rc.model.release(record.id)!;
  const object = releaseObjectOf(rc, release);
  return json(object, 201, { location: object.url });
}

async function updateRelease(deps: Deps, ctx: RequestContext, prefix: string): Promise<Response> {
  const { repo, release } = await findRelease(deps, ctx, prefix);
  const input = await readJsonObject(ctx.request);
  if (input.tag_name !== undefined) checkTag(input.tag_name);
  const fields = releaseFields(input);
  const now = new Date();
  const id = await repo.update((doc) => {
    const record = claim(doc, release);
    if (typeof input.tag_name === "string" && input.tag_name !== record.tag_name) {
      if (record.immutable) throw immutable("the tag of an immutable release cannot be changed");
      refuseTakenTag(doc, input.tag_name, record);
      record.tag_name = input.tag_name;
    }
    if (fields.name !== undefined) record.name = fields.name;
    if (fields.body !== undefined) record.body = fields.body;
    if (fields.target_commitish !== undefined) record.target_commitish = fields.target_commitish;
    if (fields.prerelease !== undefined) record.prerelease = fields.prerelease;
    if (fields.make_latest !== undefined) record.make_latest = fields.make_latest;
    if (fields.draft === true && !record.draft) {
      if (record.immutable) throw immutable("an immutable release cannot be turned back into a draft");
      record.draft = true;
      record.published_at = null;
    } else if (fields.draft === false && record.draft) {
      publish(deps, record, now);
    } else if (fields.make_latest === "true" && !record.draft && !record.prerelease) {
      record.latest_at = now.toISOString();
    }
    record.updated_at = now.toISOString();
    return record.id;
  });
  const rc = await repoContext(deps, ctx, prefix, repo);
  return json(releaseObjectOf(rc, rc.model.release(id)!));
}

async function deleteRelease(deps: Deps, ctx: RequestContext, prefix: string): Promise<Response> {
  const { repo, release } = await findRelease(deps, ctx, prefix);
  await repo.update(async (doc) => {
    // The packages first: if the store fails here, the release is still whole.
    for (const p of release.packages) await repo.store.remove(p.name);
    for (const p of release.packages) delete doc.assets[p.name];
    const record = release.record && doc.releases.find((r) => r.id === release.id);
    if (record) {
      doc.releases = doc.releases.filter((r) => r !== record);
      // GitHub never lets the tag of an immutable release be used again.
      if (record.immutable && !doc.retired_tags.includes(record.tag_name)) doc.retired_tags.push(record.tag_name);
    }
  });
  deps.log(`deleted release ${release.tag} (id ${release.id}, ${release.packages.length} assets) in ${repo.name.key}`);
  return new Response(null, { status: 204 });
}

async function generateNotes(deps: Deps, ctx: RequestContext, prefix: string): Promise<Response> {
  const rc = await repoContext(deps, ctx, prefix);
  const input = await readJsonObject(ctx.request);
  if (input.tag_name === undefined) throw validationFailed({ resource: "Release", code: "missing_field", field: "tag_name" });
  checkTag(input.tag_name);
  const tag = input.tag_name as string;
  return json(releaseNotes(tag, rc.model.byTag(tag)?.packages ?? []));
}

/** Publishes a draft: its time, the immutability it gets, and whether it becomes the latest release. */
function publish(deps: Deps, record: ReleaseRecord, now: Date): void {
  record.draft = false;
  record.published_at = now.toISOString();
  if (deps.config.immutableReleases) record.immutable = true;
  if (record.make_latest === "true" && !record.prerelease) record.latest_at = now.toISOString();
}

/**
 * The stored record of a release; a release derived from package names gets
 * one now, claiming its packages, so it can be edited like any other.
 */
function claim(doc: ReleasesDocument, release: Release): ReleaseRecord {
  const existing = doc.releases.find((r) => r.id === release.id);
  if (existing) {
    // Packages that joined it by version are claimed too, so they stay with it.
    for (const p of release.packages) if (!existing.assets.includes(p.name)) existing.assets.push(p.name);
    return existing;
  }
  if (release.record) throw notFound(); // deleted meanwhile
  const times = release.packages.map((p) => p.createdAt.getTime());
  const record: ReleaseRecord = {
    id: release.id,
    tag_name: release.tag,
    name: null,
    body: null,
    draft: false,
    prerelease: release.prerelease,
    target_commitish: "main",
    make_latest: "legacy",
    immutable: false,
    created_at: new Date(Math.min(...times)).toISOString(),
    published_at: new Date(Math.max(...times)).toISOString(),
    updated_at: new Date().toISOString(),
    latest_at: null,
    assets: release.packages.map((p) => p.name),
  };
  doc.releases.push(record);
  return record;
}

function refuseTakenTag(doc: ReleasesDocument, tag: string, self?: ReleaseRecord): void {
  if (doc.releases.some((r) => r !== self && r.tag_name === tag)) {
    throw validationFailed({ resource: "Release", code: "already_exists", field: "tag_name" });
  }
  if (doc.retired_tags.includes(tag)) {
    throw validationFailed({ resource: "Release", code: "custom", field: "tag_name", message: `tag_name ${tag} was used by an immutable release and cannot be used again` });
  }
}

// ---------------------------------------------------------------------------
// Assets

async function uploadAsset(deps: Deps, ctx: RequestContext, prefix: string): Promise<Response> {
  const { repo, release } = await findRelease(deps, ctx, prefix);
  const name = ctx.url.searchParams.get("name");
  if (name === null || name === "") throw validationFailed({ resource: "ReleaseAsset", code: "missing_field", field: "name" });
  const problem = nameProblem(name);
  if (problem) throw validationFailed({ resource: "ReleaseAsset", code: "invalid", field: "name", message: problem });
  if (release.record?.immutable) throw immutable("assets cannot be added to an immutable release");
  const label = ctx.url.searchParams.get("label");
  const limit = deps.config.maxUploadSize;
  if (Number(ctx.request.headers.get("content-length") ?? NaN) > limit) throw tooLarge(limit);
  if (await repo.store.get(name)) throw alreadyExists();
  const stated = expectedSha256(ctx.request.headers, { raw: true });
  if (!ctx.request.body) throw validationFailed({ resource: "ReleaseAsset", code: "invalid", field: "body", message: "the upload is empty" });
  const staged = await repo.store.stage(ctx.request.body, limit);
  try {
    if (staged.size === 0) throw validationFailed({ resource: "ReleaseAsset", code: "invalid", field: "body", message: "the upload is empty; refusing to store a zero-byte asset" });
    checkSha256(stated, staged.sha256);
  } catch (err) {
    await repo.store.discard(staged);
    throw err;
  }
  const { entry } = await repo.store.commit(staged, name, { overwrite: false }).catch((err) => {
    if (err instanceof ConflictError) throw alreadyExists();
    if (err instanceof InvalidNameError) throw validationFailed({ resource: "ReleaseAsset", code: "invalid", field: "name", message: err.detail });
    throw err;
  });
  const contentType = ctx.request.headers.get("content-type");
  await repo.update((doc) => {
    const record = claim(doc, release);
    if (!record.assets.includes(name)) record.assets.push(name);
    doc.assets[name] = { label: label || null, content_type: contentType || null, uploaded_at: entry.createdAt.toISOString() };
  });
  deps.log(`stored ${name} (${entry.size} bytes, sha256 ${entry.sha256}) in release ${release.tag} of ${repo.name.key}`);
  const rc = await repoContext(deps, ctx, prefix === "" || ctx.url.pathname.startsWith("/api/uploads/") ? "/api/v3/repos/:owner/:repo" : prefix, repo);
  return json(assetJson(entry, rc.urls, rc.downloads, rc.extras), 201);
}

async function updateAsset(deps: Deps, ctx: RequestContext, prefix: string): Promise<Response> {
  const { repo, entry, release } = await findAsset(deps, ctx, prefix);
  const input = await readJsonObject(ctx.request);
  for (const key of ["name", "label", "state"] as const) {
    if (input[key] !== undefined && input[key] !== null && typeof input[key] !== "string") throw invalid("ReleaseAsset", key);
  }
  const newName = typeof input.name === "string" && input.name !== entry.name ? input.name : null;
  if (newName !== null) {
    const problem = nameProblem(newName);
    if (problem) throw validationFailed({ resource: "ReleaseAsset", code: "invalid", field: "name", message: problem });
    if (release?.record?.immutable) throw immutable("the assets of an immutable release cannot be renamed");
    if (await repo.store.get(newName)) throw alreadyExists();
  }
  let result: PackageEntry = entry;
  if (newName !== null) result = await copyPackage(repo, entry, newName);
  await repo.update((doc) => {
    const meta = { ...(doc.assets[entry.name] ?? { label: null, content_type: null }) };
    if (input.label !== undefined) meta.label = (input.label as string | null) || null;
    if (newName !== null) {
      delete doc.assets[entry.name];
      for (const r of doc.releases) r.assets = r.assets.map((n) => (n === entry.name ? newName : n));
    }
    doc.assets[result.name] = meta;
    if (release && newName !== null) {
      // A package renamed out of a derived release stays in it.
      const record = claim(doc, release);
      if (!record.assets.includes(newName)) record.assets.push(newName);
      record.assets = record.assets.filter((n) => n !== entry.name);
    }
  });
  if (newName !== null) await repo.store.remove(entry.name);
  const rc = await repoContext(deps, ctx, prefix, repo);
  return json(assetJson(result, rc.urls, rc.downloads, rc.extras));
}

async function deleteAsset(deps: Deps, ctx: RequestContext, prefix: string): Promise<Response> {
  const { repo, entry, release } = await findAsset(deps, ctx, prefix);
  if (release?.record?.immutable) throw immutable("the assets of an immutable release cannot be deleted");
  await repo.update(async (doc) => {
    await repo.store.remove(entry.name);
    delete doc.assets[entry.name];
    for (const r of doc.releases) r.assets = r.assets.filter((n) => n !== entry.name);
  });
  deps.log(`deleted asset ${entry.name} of ${repo.name.key}`);
  return new Response(null, { status: 204 });
}

/** A rename: the store has no rename, so the bytes are copied under the new name (streamed, hashed, committed). */
async function copyPackage(repo: Repository, entry: PackageEntry, newName: string): Promise<PackageEntry> {
  const reader = await repo.store.open(entry.name);
  if (!reader) throw notFound();
  try {
    // The size is known exactly: the object store sizes its upload parts from it.
    const staged = await repo.store.stage(reader.read(0, reader.entry.size - 1), reader.entry.size);
    const { entry: copied } = await repo.store.commit(staged, newName, { overwrite: false }).catch((err) => {
      throw err instanceof ConflictError ? alreadyExists() : err;
    });
    return copied;
  } finally {
    await reader.close();
  }
}

// ---------------------------------------------------------------------------
// Lookups and input

/** The repository a write names, created by this (authenticated) write when new. */
async function writableRepository(deps: Deps, ctx: RequestContext): Promise<Repository> {
  if (ctx.params.owner === undefined) return deps.repositories.default;
  const repo = await deps.repositories.findOrCreate(ctx.params.owner, ctx.params.repo);
  if (!repo) throw notFound();
  return repo;
}

async function findRelease(deps: Deps, ctx: RequestContext, prefix: string): Promise<{ repo: Repository; release: Release; model: RepositoryModel }> {
  const rc = await repoContext(deps, ctx, prefix);
  const id = idOf(ctx.params.id);
  const release = rc.model.release(id);
  // The latest view has an id for reading, but it is not a release one can change.
  if (!release || release.id === rc.model.latest.id) throw notFound();
  return { repo: rc.repo, release, model: rc.model };
}

async function findAsset(deps: Deps, ctx: RequestContext, prefix: string): Promise<{ repo: Repository; entry: PackageEntry; release: Release | undefined }> {
  const rc = await repoContext(deps, ctx, prefix);
  const entry = rc.model.asset(idOf(ctx.params.id));
  if (!entry) throw notFound();
  return { repo: rc.repo, entry, release: rc.model.releaseOf(entry.name) };
}

function idOf(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value)) throw notFound();
  return Number(value);
}

function releaseObjectOf(rc: RepoContext, release: Release) {
  return releaseJson(release, rc.urls, rc.downloads, rc.extras);
}

interface ReleaseFields {
  name?: string | null;
  body?: string | null;
  draft?: boolean;
  prerelease?: boolean;
  target_commitish?: string;
  make_latest?: MakeLatest;
}

function releaseFields(input: Record<string, unknown>): ReleaseFields {
  const out: ReleaseFields = {};
  for (const key of ["name", "body"] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (v !== null && typeof v !== "string") throw invalid("Release", key);
    out[key] = v;
  }
  for (const key of ["draft", "prerelease"] as const) {
    const v = input[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "boolean") throw invalid("Release", key);
    out[key] = v;
  }
  if (input.target_commitish !== undefined && input.target_commitish !== null) {
    if (typeof input.target_commitish !== "string" || input.target_commitish.length > 255) throw invalid("Release", "target_commitish");
    out.target_commitish = input.target_commitish;
  }
  if (input.make_latest !== undefined && input.make_latest !== null) {
    const v = typeof input.make_latest === "boolean" ? String(input.make_latest) : input.make_latest;
    if (v !== "true" && v !== "false" && v !== "legacy") throw invalid("Release", "make_latest");
    out.make_latest = v;
  }
  return out;
}

function checkTag(tag: unknown): void {
  if (typeof tag !== "string") throw invalid("Release", "tag_name");
  const problem = tagProblem(tag);
  if (problem) throw validationFailed({ resource: "Release", code: "invalid", field: "tag_name", message: problem });
}

/** The request's JSON object, read with a bound; GitHub's 400 "Problems parsing JSON" otherwise. */
async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > MAX_JSON_BYTES) throw new GitHubError(413, `the JSON body is larger than ${MAX_JSON_BYTES} bytes`);
      chunks.push(chunk);
    }
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new GitHubError(400, "Problems parsing JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new GitHubError(400, "Problems parsing JSON: expected an object");
  return value as Record<string, unknown>;
}

function invalid(resource: string, field: string): GitHubError {
  return validationFailed({ resource, code: "invalid", field });
}

function alreadyExists(): GitHubError {
  return validationFailed({ resource: "ReleaseAsset", code: "already_exists", field: "name" });
}

function immutable(why: string): GitHubError {
  return new GitHubError(422, `Cannot modify an immutable release: ${why}`, [{ resource: "Release", code: "custom", field: "immutable", message: why }]);
}
