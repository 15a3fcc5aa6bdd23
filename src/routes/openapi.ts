import { readFile } from "node:fs/promises";
import type { Handler } from "../context.js";
import { HttpError } from "../http.js";

/** GET /openapi.yaml: the API description shipped beside dist/. Read once, at the first request. */
export function openapiDocument(): Handler {
  let document: Promise<string> | null = null;
  return async () => {
    document ??= readFile(new URL("../../openapi.yaml", import.meta.url), "utf8");
    const text = await document.catch(() => {
      document = null;
      throw new HttpError(404, "openapi.yaml is not installed beside the server");
    });
    return new Response(text, { headers: { "content-type": "application/yaml; charset=utf-8" } });
  };
}
