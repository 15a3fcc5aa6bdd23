// POST /api/graphql against the real server: the queries gh sends, verbatim
// (as shurcooL/githubv4 renders them in cli/cli: pkg/cmd/release/list/http.go
// and shared/fetch.go), paging by cursor, drafts, and GitHub's error shape.

import t from "tap";
import { upload } from "./helpers/releases.js";
import { startServer, TOKEN } from "./helpers/server.js";

const LIST =
  "query RepositoryReleaseList($direction:OrderDirection!$endCursor:String$name:String!$owner:String!$perPage:Int!){repository(owner: $owner, name: $name){releases(first: $perPage, orderBy: {field: CREATED_AT, direction: $direction}, after: $endCursor){nodes{name,tagName,isDraft,isLatest,isPrerelease,createdAt,publishedAt},pageInfo{hasNextPage,endCursor}}}}";
const BY_TAG = "query RepositoryReleaseByTag($name:String!$owner:String!$tagName:String!){repository(owner: $owner, name: $name){release(tagName: $tagName){databaseId,isDraft}}}";

t.test("GraphQL: gh's queries, paging, drafts, errors", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "0", DEFAULT_REPOSITORY: "github/spec-kit" } });
  t.teardown(() => server.stop());
  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/api/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const auth = { authorization: `token ${TOKEN}` };
  for (const name of ["tool-v1.0.0.zip", "tool-v1.1.0.zip", "tool-v2.0.0-rc.1.zip", "tool-v0.9.0.zip", "notes.txt"]) await upload(server, name);
  const draft = await fetch(`${server.url}/repos/github/spec-kit/releases`, { method: "POST", headers: auth, body: JSON.stringify({ tag_name: "v3.0.0", draft: true, name: "Three" }) });
  const draftId = ((await draft.json()) as { id: number }).id;

  await t.test("gh release list's query, page by page", async (t) => {
    const tags: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const { status, body } = await post({ query: LIST, variables: { owner: "github", name: "spec-kit", perPage: 2, endCursor: cursor, direction: "DESC" } });
      t.equal(status, 200);
      t.notOk(body.errors, "no errors");
      const { nodes, pageInfo } = body.data.repository.releases;
      tags.push(...nodes.map((n: { tagName: string }) => n.tagName));
      if (!pageInfo.hasNextPage) break;
      cursor = pageInfo.endCursor;
    }
    t.equal(tags.length, 5, "every release once: v1.1.0, v1.0.0, v2.0.0-rc.1, v0.9.0, unversioned (no draft without the token)");
    t.same([...tags].sort(), ["unversioned", "v0.9.0", "v1.0.0", "v1.1.0", "v2.0.0-rc.1"]);
    const all = (await post({ query: LIST, variables: { owner: "github", name: "spec-kit", perPage: 30, endCursor: null, direction: "DESC" } }, auth)).body.data.repository.releases.nodes;
    t.equal(all.length, 6, "with the token, the draft too");
    t.same(all.filter((n: { isLatest: boolean }) => n.isLatest).map((n: { tagName: string }) => n.tagName), ["v1.1.0"], "exactly one latest: the highest stable version");
    t.match(all.find((n: { tagName: string }) => n.tagName === "v3.0.0"), { isDraft: true, name: "Three", publishedAt: null });
    t.match(all.find((n: { tagName: string }) => n.tagName === "v2.0.0-rc.1"), { isPrerelease: true, isLatest: false });
  });

  await t.test("gh's draft lookup by tag", async (t) => {
    const anonymous = await post({ query: BY_TAG, variables: { owner: "github", name: "spec-kit", tagName: "v3.0.0" } });
    t.same(anonymous.body, { data: { repository: { release: null } } }, "a draft is not found without the token: plain null, no error");
    const found = await post({ query: BY_TAG, variables: { owner: "github", name: "spec-kit", tagName: "v3.0.0" } }, auth);
    t.same(found.body.data.repository.release, { databaseId: draftId, isDraft: true }, "the REST id, as a JSON integer");
    const derived = await post({ query: BY_TAG, variables: { owner: "github", name: "spec-kit", tagName: "1.0.0" } });
    t.equal(derived.body.data.repository.release.isDraft, false, "a release derived from names, with or without its v");
  });

  await t.test("GitHub's error shape", async (t) => {
    const missing = await post({ query: BY_TAG, variables: { owner: "nobody", name: "none", tagName: "v1" } });
    t.equal(missing.status, 200);
    t.same(missing.body.data, { repository: null });
    t.match(missing.body.errors, [{ type: "NOT_FOUND", path: ["repository"], locations: [{ line: 1, column: Number }], message: "Could not resolve to a Repository with the name 'nobody/none'." }]);
    const unknownField = await post({ query: "{ repository(owner: \"github\", name: \"spec-kit\") { stargazerCount } }" });
    t.notOk("data" in unknownField.body, "validation errors: no data");
    t.match(unknownField.body.errors, [{ message: /Cannot query field "stargazerCount" on type "Repository"/, locations: [{ line: 1 }] }]);
    const syntax = await post({ query: "query {" });
    t.match(syntax.body.errors, [{ message: /Syntax Error/ }]);
    const tooMany = await post({ query: "{ repository(owner: \"github\", name: \"spec-kit\") { releases(first: 101) { totalCount } } }" });
    t.match(tooMany.body.errors, [{ type: "EXCESSIVE_PAGINATION", message: /exceeds the `first` limit of 100 records/ }]);
    const badCursor = await post({ query: "{ repository(owner: \"github\", name: \"spec-kit\") { releases(first: 1, after: \"bm9wZQ\") { totalCount } } }" });
    t.match(badCursor.body.errors, [{ type: "INVALID_CURSOR_ARGUMENTS" }]);
    t.equal((await post("{not json")).status, 400);
    t.match((await post("{not json")).body, { message: "Problems parsing JSON" });
    t.match((await post({ variables: {} })).body, { errors: [{ message: /query attribute must be specified/ }] });
    t.equal((await post({ query: `{ viewer { login } } # ${"x".repeat(70_000)}` })).status, 413, "a bounded body");
    t.match((await post({ query: "{ viewer { login } }" })).body.errors, [{ type: "FORBIDDEN" }]);
    t.same((await post({ query: "{ viewer { login } }" }, auth)).body, { data: { viewer: { login: "release-server" } } });
  });

  await t.test("assets through GraphQL", async (t) => {
    const q = '{ repository(owner: "GitHub", name: "Spec-Kit") { nameWithOwner latestRelease { tagName releaseAssets(first: 10) { totalCount nodes { name size digest contentType downloadUrl } } } } }';
    const { body } = await post({ query: q });
    t.equal(body.data.repository.nameWithOwner, "github/spec-kit", "names are case-insensitive");
    const latest = body.data.repository.latestRelease;
    t.equal(latest.tagName, "v1.1.0");
    t.match(latest.releaseAssets.nodes, [{ name: "tool-v1.1.0.zip", contentType: "application/zip", digest: /^sha256:[0-9a-f]{64}$/, downloadUrl: `${server.url}/assets/tool-v1.1.0.zip` }]);
  });
});
