// The API description: /openapi.yaml as shipped beside dist/, and /docs, the
// same contract as a page for people (the older server's /docs).

import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { Handler } from "../context.js";
import { HTML_HEADERS, htmlPage } from "../html.js";
import { escapeHtml, HttpError } from "../http.js";

const METHODS = ["get", "head", "put", "post", "delete"];

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

export function openapiRoutes(): { yaml: Handler; docs: Handler } {
  const load = documentLoader();
  let page: string | null = null;
  return {
    yaml: async () => new Response(await load(), { headers: { "content-type": "application/yaml; charset=utf-8" } }),
    docs: async () => {
      page ??= renderDocs(parse(await load()));
      return new Response(page, { headers: HTML_HEADERS });
    },
  };
}

interface Operation {
  summary?: string;
  description?: string;
  security?: unknown[];
}

function renderDocs(doc: { info?: { title?: string; description?: string }; paths?: Record<string, Record<string, Operation>> }): string {
  const rows: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const auth = op.security?.length ? "token" : "";
      rows.push(
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary ?? "")}</td><td>${auth}</td></tr>`,
      );
    }
  }
  const intro = escapeHtml(doc.info?.description ?? "").replace(/\n/g, " ");
  const table = `<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Auth</th></tr></thead>\n<tbody>\n${rows.join("\n")}\n</tbody></table>`;
  return htmlPage(
    `${doc.info?.title ?? "API"}: API`,
    "API",
    `<p>${intro}</p>\n<p>The full contract, with every parameter, header and status code: <a href="openapi.yaml">openapi.yaml</a>.</p>\n${table}`,
  );
}
