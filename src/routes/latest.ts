import type { Deps, Handler } from "../context.js";
import { json } from "../http.js";
import { publicBaseUrl } from "../public-url.js";

/** GET /latest: a GitHub-release-shaped object listing the stored packages, newest first. */
export function latestRelease(deps: Deps): Handler {
  return async ({ request }) => {
    const base = publicBaseUrl(request, deps.config);
    const packages = await deps.storage.list();
    return json({
      tag_name: "latest",
      name: "latest",
      assets: packages.map((p) => ({
        name: p.name,
        size: p.size,
        created_at: p.createdAt.toISOString(),
        digest: `sha256:${p.sha256}`,
        browser_download_url: `${base}/assets/${encodeURIComponent(p.name)}`,
      })),
    });
  };
}
