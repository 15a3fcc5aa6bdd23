import { bearerAuth } from "../auth.js";
import type { Deps, Handler } from "../context.js";
import { HttpError, json, negotiate } from "../http.js";
import { refuseImmutableAsset } from "../github/older-api.js";
import { nameProblem } from "../names.js";
import { packageJson } from "../package-json.js";
import { publicBaseUrl } from "../public-url.js";
import { dependsOnIndex } from "../response-cache.js";
import type { PackageEntry } from "../store/index.js";
import { HTML_HEADERS } from "../views/layout.js";
import { packagesPage } from "../views/pages.js";

const FORMATS: Record<string, string> = { json: "application/json", html: "text/html" };

/** GET /packages: JSON for programs, HTML for browsers; ?format= overrides Accept. */
export function listPackages(deps: Deps): Handler {
  return dependsOnIndex(async ({ request, url }) => {
    const format = url.searchParams.get("format");
    if (format !== null && !(format in FORMATS)) {
      throw new HttpError(422, `format must be "json" or "html", not ${JSON.stringify(format)}`);
    }
    const type = format ? FORMATS[format] : negotiate(request.headers.get("accept"), ["application/json", "text/html"]);
    const packages = await deps.storage.list();
    const vary = { vary: "Accept" };
    if (type === "application/json") return json(packages.map(packageJson), 200, vary);
    const ctx = { site: publicBaseUrl(request, deps.config), now: new Date(), downloads: (p: PackageEntry) => deps.downloadCount?.(p) ?? 0 };
    const page = packagesPage(packages, ctx, Number(url.searchParams.get("page") ?? "1") || 1);
    return new Response(page, { headers: { ...vary, ...HTML_HEADERS } });
  });
}

/** DELETE /packages/{name} and /assets/{name}: removes the package and its checksum. */
export function deletePackage(deps: Deps): Handler {
  const authorize = bearerAuth(deps.config.authToken);
  return async ({ request, params }) => {
    authorize(request);
    const name = requireValidName(params.name);
    await refuseImmutableAsset(deps, name);
    if (!(await deps.storage.remove(name))) throw new HttpError(404, `no package named "${name}"`);
    deps.log(`deleted ${name}`);
    return new Response(null, { status: 204 });
  };
}

export function requireValidName(name: string): string {
  const problem = nameProblem(name);
  if (problem) throw new HttpError(400, `invalid file name ${JSON.stringify(name)}: ${problem}`);
  return name;
}
