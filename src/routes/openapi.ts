// The API description: /openapi.yaml as shipped beside dist/, the same as JSON
// at /openapi.json, and /docs, Swagger UI over it (the older server had it
// there too), whose "Try it out" calls this server.

import { readFile } from "node:fs/promises";
import type { Handler } from "../context.js";
import { HttpError, json } from "../http.js";
import { HTML_HEADERS, page } from "../views/layout.js";

/** Reads openapi.yaml once, at the first request that needs it. */
function documentLoader(): () => Promise<string> {
  let document: Promise<string> | null = null;
  return () => {
    document ??= readFile(new URL("../../openapi.yaml", import.meta.url), "utf8");
    return document.catch(() => {
      document = null;
      throw new HttpError(404, "openapi.yaml is not installed beside the server");
    });
  };
}

export function openapiRoutes(): { yaml: Handler; json: Handler; docs: Handler } {
  const load = documentLoader();
  let asJson: unknown = null;
  return {
    yaml: async () => new Response(await load(), { headers: { "content-type": "application/yaml; charset=utf-8" } }),
    // yaml is loaded by the first request for the JSON form, not at startup.
    json: async () => json((asJson ??= (await import("yaml")).parse(await load()))),
    docs: () => new Response(DOCS_PAGE, { headers: HTML_HEADERS }),
  };
}

// Swagger UI needs JavaScript; without it the page still links the contract.
const DOCS_PAGE = page({
  title: "Release Server API",
  section: "docs",
  head: '<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">\n<link rel="stylesheet" href="/static/docs.css">\n<script src="/static/swagger-ui/swagger-ui-bundle.js" defer></script>\n<script src="/static/docs.js" defer></script>',
  body: `<h1>API</h1>
<p class="lead">Every route, parameter and answer of this server, from <a href="/openapi.yaml">openapi.yaml</a> (also as <a href="/openapi.json">JSON</a>). Reads are public; for uploads and deletes press <b>Authorize</b> and give the server's token, then <b>Try it out</b>.</p>
<div id="swagger-ui"></div>`,
});
