// GET /api/v3/ and /api/v3/user: what `gh auth login` and `gh auth status`
// read from a GitHub Enterprise host. A valid token is reported with the
// scopes gh checks for (X-OAuth-Scopes); the user is the server itself.

import type { Deps, Handler } from "../context.js";
import { json } from "../http.js";
import { publicBaseUrl } from "../public-url.js";
import { isPrivileged } from "./repo-context.js";

const SCOPES = "repo, read:org, workflow, gist";

function scopeHeaders(deps: Deps, request: Request): Record<string, string> {
  return isPrivileged(deps, request) ? { "x-oauth-scopes": SCOPES, "x-accepted-oauth-scopes": "" } : {};
}

export function apiRoot(deps: Deps): Handler {
  return ({ request }) => {
    const api = `${publicBaseUrl(request, deps.config)}/api/v3`;
    return json(
      {
        current_user_url: `${api}/user`,
        repository_url: `${api}/repos/{owner}/{repo}`,
        releases_url: `${api}/repos/{owner}/{repo}/releases{/id}`,
        graphql_url: `${api.replace(/\/v3$/, "")}/graphql`,
      },
      200,
      { ...scopeHeaders(deps, request), "x-github-media-type": "github.v3; format=json" },
    );
  };
}

export function currentUser(deps: Deps): Handler {
  return ({ request }) => {
    if (!isPrivileged(deps, request)) {
      return json({ message: "Requires authentication", documentation_url: "https://docs.github.com/rest/users/users#get-the-authenticated-user", status: "401" }, 401);
    }
    return json({ login: "release-server", id: 1, node_id: "U_1", type: "User", site_admin: false, name: "Release Server" }, 200, scopeHeaders(deps, request));
  };
}
