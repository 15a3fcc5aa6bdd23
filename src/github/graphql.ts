// POST /api/graphql: the part of GitHub's GraphQL API that `gh release`
// uses (list, and the draft lookup by tag that view, download, upload, edit
// and delete race against REST), over a small schema of our own, executed by
// the reference implementation (`graphql`). Parsing, validation and errors are
// graphql-js's; error objects are reshaped to GitHub's (`type`, `path`,
// `locations`, `message`). Field names and argument types follow GitHub's
// schema so that the queries gh sends validate unchanged. Ids that GitHub
// types as Int are Float here: ours go up to 2^48, past GraphQL's 32-bit Int,
// and a JSON number reads the same either way.

import { buildSchema, graphql, GraphQLError, type ExecutionResult } from "graphql";
import type { Deps, Handler, RequestContext } from "../context.js";
import { contentTypeOf } from "../content-type.js";
import { json } from "../http.js";
import { assetId, type Release } from "../releases.js";
import type { PackageEntry } from "../store/index.js";
import { isPrivileged, repoContext, type RepoContext } from "./repo-context.js";

const MAX_QUERY_BYTES = 64 * 1024;
const MAX_PAGE = 100;

export const SCHEMA_SDL = `
scalar DateTime
scalar URI

enum OrderDirection { ASC DESC }
enum ReleaseOrderField { CREATED_AT NAME }
input ReleaseOrder { field: ReleaseOrderField!, direction: OrderDirection! }

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean): Repository
  viewer: User!
}

type User { login: String!, id: ID!, name: String }
type RepositoryOwner { login: String!, id: ID! }

type Repository {
  id: ID!
  name: String!
  nameWithOwner: String!
  owner: RepositoryOwner!
  url: URI!
  isPrivate: Boolean!
  release(tagName: String!): Release
  latestRelease: Release
  releases(first: Int, last: Int, after: String, before: String, orderBy: ReleaseOrder): ReleaseConnection!
}

type PageInfo { hasNextPage: Boolean!, hasPreviousPage: Boolean!, startCursor: String, endCursor: String }

type ReleaseConnection { nodes: [Release!]!, edges: [ReleaseEdge!]!, pageInfo: PageInfo!, totalCount: Int! }
type ReleaseEdge { node: Release!, cursor: String! }

type Release {
  id: ID!
  databaseId: Float
  name: String
  tagName: String!
  description: String
  isDraft: Boolean!
  isLatest: Boolean!
  isPrerelease: Boolean!
  immutable: Boolean!
  createdAt: DateTime!
  publishedAt: DateTime
  updatedAt: DateTime!
  url: URI!
  author: User
  releaseAssets(first: Int, last: Int, after: String, before: String, name: String): ReleaseAssetConnection!
}

type ReleaseAssetConnection { nodes: [ReleaseAsset!]!, edges: [ReleaseAssetEdge!]!, pageInfo: PageInfo!, totalCount: Int! }
type ReleaseAssetEdge { node: ReleaseAsset!, cursor: String! }

type ReleaseAsset {
  id: ID!
  databaseId: Float
  name: String!
  label: String
  contentType: String!
  size: Float!
  downloadCount: Float!
  downloadUrl: URI!
  digest: String
  createdAt: DateTime!
  updatedAt: DateTime!
  url: URI!
}
`;

const schema = buildSchema(SCHEMA_SDL);

interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** A connection over `items`: GitHub's first/last/after/before with opaque cursors. */
function connection<T, N>(items: readonly T[], args: PageArgs, field: string, toNode: (item: T) => N) {
  for (const key of ["first", "last"] as const) {
    const n = args[key];
    if (n !== undefined && n !== null && (n < 0 || n > MAX_PAGE)) {
      throw new GraphQLError(`Requesting ${n} records on the \`${field}\` connection exceeds the \`${key}\` limit of ${MAX_PAGE} records.`, { extensions: { type: "EXCESSIVE_PAGINATION" } });
    }
  }
  let start = 0;
  let end = items.length;
  if (args.after) start = Math.max(start, cursorIndex(args.after) + 1);
  if (args.before) end = Math.min(end, cursorIndex(args.before));
  if (args.first != null) end = Math.min(end, start + args.first);
  if (args.last != null) start = Math.max(start, end - args.last);
  const slice = items.slice(start, Math.max(start, end)).map((item, i) => ({ node: toNode(item), cursor: cursorOf(start + i) }));
  return {
    nodes: slice.map((e) => e.node),
    edges: slice,
    totalCount: items.length,
    pageInfo: {
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      startCursor: slice[0]?.cursor ?? null,
      endCursor: slice.at(-1)?.cursor ?? null,
    },
  };
}

function cursorOf(index: number): string {
  return Buffer.from(`cursor:v2:${index}`).toString("base64");
}

function cursorIndex(cursor: string): number {
  const m = /^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
  if (!m) throw new GraphQLError(`\`${cursor}\` does not appear to be a valid cursor.`, { extensions: { type: "INVALID_CURSOR_ARGUMENTS" } });
  return Number(m[1]);
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_${btoa(`${prefix}:${id}`).replace(/=+$/, "")}`;
}

function time(iso: string | Date): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function createdOf(r: Release): string {
  if (r.record) return r.record.created_at;
  return new Date(Math.min(...r.packages.map((p) => p.createdAt.getTime()))).toISOString();
}

function publishedOf(r: Release): string | null {
  if (r.record) return r.record.published_at;
  return new Date(Math.max(...r.packages.map((p) => p.createdAt.getTime()))).toISOString();
}

function releaseNode(rc: RepoContext, r: Release) {
  const published = publishedOf(r);
  return {
    id: nodeId("RE", r.id),
    databaseId: r.id,
    name: r.record ? r.record.name : r.tag,
    tagName: r.tag,
    description: r.record ? r.record.body : null,
    isDraft: r.record?.draft ?? false,
    isLatest: rc.model.isLatest(r),
    isPrerelease: r.prerelease,
    immutable: r.record?.immutable ?? false,
    createdAt: time(createdOf(r)),
    publishedAt: published && time(published),
    updatedAt: time(r.record ? r.record.updated_at : (published ?? createdOf(r))),
    url: `${rc.urls.web}/releases/tag/${encodeURIComponent(r.tag)}`,
    author: null,
    releaseAssets: (args: PageArgs & { name?: string | null }) =>
      connection(args.name ? r.packages.filter((p) => p.name === args.name) : r.packages, args, "releaseAssets", (p) => assetNode(rc, p)),
  };
}

function assetNode(rc: RepoContext, p: PackageEntry) {
  const meta = rc.extras.meta(p.name);
  const id = assetId(p);
  return {
    id: nodeId("RA", id),
    databaseId: id,
    name: p.name,
    label: meta?.label ?? null,
    contentType: meta?.content_type ?? contentTypeOf(p.name),
    size: p.size,
    downloadCount: rc.downloads(p),
    downloadUrl: rc.extras.downloadUrl(p),
    digest: `sha256:${p.sha256}`,
    createdAt: time(p.createdAt),
    updatedAt: time(p.createdAt),
    url: `${rc.urls.api}/releases/assets/${id}`,
  };
}

function order(releases: readonly Release[], orderBy: { field: string; direction: string } | null | undefined): readonly Release[] {
  if (!orderBy) return releases;
  const key = orderBy.field === "NAME" ? (r: Release) => r.record?.name ?? r.tag : (r: Release) => createdOf(r);
  const sign = orderBy.direction === "ASC" ? 1 : -1;
  return [...releases].sort((a, b) => (key(a) < key(b) ? -sign : key(a) > key(b) ? sign : 0));
}

function rootFor(deps: Deps, ctx: RequestContext) {
  const privileged = isPrivileged(deps, ctx.request);
  return {
    viewer: () => {
      if (!privileged) throw new GraphQLError("This endpoint requires you to be authenticated.", { extensions: { type: "FORBIDDEN" } });
      return { login: "release-server", id: nodeId("U", 1), name: "Release Server" };
    },
    repository: async ({ owner, name }: { owner: string; name: string }) => {
      const repo = await deps.repositories.find(owner, name);
      if (!repo) {
        throw new GraphQLError(`Could not resolve to a Repository with the name '${owner}/${name}'.`, { extensions: { type: "NOT_FOUND" } });
      }
      const rc = await repoContext(deps, { ...ctx, params: { owner, repo: name } }, "/api/v3/repos/:owner/:repo", repo);
      const [o, r] = repo.name.key.split("/");
      return {
        id: nodeId("R", assetId({ name: repo.name.key, sha256: "", size: 0, createdAt: new Date(0) })),
        name: r,
        nameWithOwner: repo.name.key,
        owner: { login: o, id: nodeId("U", o.length) },
        url: rc.urls.web,
        isPrivate: false,
        release: ({ tagName }: { tagName: string }) => {
          const found = rc.model.byTag(tagName);
          return found && found.key !== rc.model.latest.key ? releaseNode(rc, found) : null;
        },
        latestRelease: () => {
          const latest = rc.model.releases.find((x) => rc.model.isLatest(x));
          return latest ? releaseNode(rc, latest) : null;
        },
        releases: (args: PageArgs & { orderBy?: { field: string; direction: string } | null }) =>
          connection(order(rc.model.releases, args.orderBy), args, "releases", (x) => releaseNode(rc, x)),
      };
    },
  };
}

/** GitHub's error objects: graphql-js's, with `type` (NOT_FOUND, ...) lifted to the top level as GitHub has it. */
function githubErrors(errors: readonly GraphQLError[]) {
  return errors.map((e) => {
    const type = e.extensions?.type;
    return {
      ...(type ? { type } : {}),
      ...(e.path ? { path: e.path } : {}),
      ...(e.locations ? { locations: e.locations } : {}),
      message: e.message,
    };
  });
}

export function graphqlRoute(deps: Deps): Handler {
  return async (ctx) => {
    const text = await readBounded(ctx.request);
    if (text === null) return json({ message: `The query is larger than ${MAX_QUERY_BYTES} bytes.`, documentation_url: "https://docs.github.com/graphql" }, 413);
    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      return json({ message: "Problems parsing JSON", documentation_url: "https://docs.github.com/graphql" }, 400);
    }
    if (typeof body?.query !== "string") {
      return json({ errors: [{ message: "A query attribute must be specified and must be a string." }] });
    }
    const result: ExecutionResult = await graphql({
      schema,
      source: body.query,
      rootValue: rootFor(deps, ctx),
      variableValues: body.variables && typeof body.variables === "object" ? (body.variables as Record<string, unknown>) : undefined,
      operationName: typeof body.operationName === "string" ? body.operationName : undefined,
    });
    const out: Record<string, unknown> = {};
    if (result.data !== undefined) out.data = result.data;
    if (result.errors?.length) out.errors = githubErrors(result.errors);
    return json(out);
  };
}

async function readBounded(request: Request): Promise<string | null> {
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_QUERY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
