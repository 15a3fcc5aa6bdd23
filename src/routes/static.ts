// The pages' own files (/static/app.css, /static/app.js, /static/docs.js) and
// the two Swagger UI files /docs needs (/static/swagger-ui/...), served from
// our origin so the pages load nothing from elsewhere and the CSP can say
// 'self'. A fixed list: nothing else on disk is reachable. Each file is read
// once, then answered from memory with a strong ETag.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Handler } from "../context.js";
import { HttpError } from "../http.js";

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

const OWN: Record<string, string> = { "app.css": CSS, "app.js": JS, "docs.js": JS, "docs.css": CSS };
const SWAGGER: Record<string, string> = { "swagger-ui.css": CSS, "swagger-ui-bundle.js": JS };

interface Loaded {
  body: Buffer;
  etag: string;
}

function fileServer(files: Record<string, string>, dir: () => string, what: string): Handler {
  const cache = new Map<string, Promise<Loaded>>();
  return async ({ request, params }) => {
    const type = Object.hasOwn(files, params.name) ? files[params.name] : undefined;
    if (!type) throw new HttpError(404, `no file named "${params.name}" in ${what}`);
    let loaded = cache.get(params.name);
    if (!loaded) {
      loaded = readFile(join(dir(), params.name)).then((body) => ({ body, etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"` }));
      cache.set(params.name, loaded);
      loaded.catch(() => cache.delete(params.name));
    }
    const { body, etag } = await loaded.catch(() => {
      throw new HttpError(404, `${params.name} is not installed beside the server`);
    });
    const headers = { "content-type": type, etag, "cache-control": "public, no-cache" };
    const tags = request.headers.get("if-none-match")?.split(",").map((t) => t.trim().replace(/^W\//, ""));
    if (tags?.includes(etag) || tags?.includes("*")) return new Response(null, { status: 304, headers });
    return new Response(new Uint8Array(body), { headers: { ...headers, "content-length": String(body.length) } });
  };
}

/** static/ beside dist/, as shipped. */
const ownDir = () => fileURLToPath(new URL("../../static/", import.meta.url));
/** Where npm installed swagger-ui-dist. */
const swaggerDir = () => dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

export function staticRoutes(): { own: Handler; swagger: Handler } {
  return { own: fileServer(OWN, ownDir, "/static"), swagger: fileServer(SWAGGER, swaggerDir, "/static/swagger-ui") };
}
