// Contract checks: every response an end-to-end test receives from the server
// is matched to its operation in an OpenAPI description and validated by
// openapi-backend: the status is declared, the content type is declared, a
// JSON body matches the schema, and the declared headers are valid (and
// present, where the description says `required: true`).

import { readFileSync } from "node:fs";
import type { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { OpenAPIBackend, type Operation } from "openapi-backend";
import { parse } from "yaml";

type Doc = { paths: Record<string, Record<string, OperationObject>>; components?: unknown };
interface OperationObject {
  operationId?: string;
  responses?: Record<string, ResponseObject>;
}
interface ResponseObject {
  $ref?: string;
  headers?: Record<string, { required?: boolean; $ref?: string }>;
  content?: Record<string, unknown>;
}

const METHODS = ["get", "put", "post", "patch", "delete", "head"];
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface Contract {
  /** What is wrong with this response; empty when it keeps the contract. */
  check(method: string, url: URL, status: number, headers: Headers, body: string | null): string[];
}

export interface ContractOptions {
  /** The older server's description declares no error bodies; its errors had them all the same. */
  bodiesWhereNoneDeclared?: boolean;
}

/** A contract from an OpenAPI file. */
export async function loadContract(path: string, options: ContractOptions = {}): Promise<Contract> {
  const doc = parse(readFileSync(path, "utf8")) as Doc;
  // openapi-backend finds operations by operationId; name the ones without one. (Its own check of
  // the document knows OpenAPI 3.0 only: quick mode skips it; openapi.test.ts checks it as 3.1.)
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) if (item[m]) item[m].operationId ??= `${m} ${p}`;
  }
  const api = new OpenAPIBackend({ definition: structuredClone(doc) as never, strict: true, quick: true, validate: true, customizeAjv: (ajv) => addFormats(ajv as unknown as Ajv) as never });
  await api.init();
  const deref = api.definition as unknown as Doc;

  return {
    check(method, url, status, headers, body) {
      const problems: string[] = [];
      const what = `${method} ${url.pathname}${url.search} → ${status}`;
      const request = { method: method === "HEAD" ? "head" : method.toLowerCase(), path: url.pathname, query: url.search.slice(1), headers: {} };
      let operation: Operation | undefined = api.matchOperation(request) as Operation | undefined;
      if (!operation && method === "HEAD") operation = api.matchOperation({ ...request, method: "get" }) as Operation | undefined;
      if (!operation) {
        // Paths and methods the server does not have: the documented general answers.
        if (![400, 404, 405].includes(status)) problems.push(`${what}: no operation in the description`);
        if (body !== null && !/^\{"detail":"[^"]/.test(body)) problems.push(`${what}: the body is not {"detail": ...}`);
        return problems;
      }
      const spec = deref.paths[operation.path][operation.method];
      const response = spec.responses?.[String(status)] ?? spec.responses?.[`${String(status)[0]}XX`] ?? spec.responses?.default;
      if (!response) return [`${what}: status ${status} is not declared (${operation.operationId})`];
      for (const [name, header] of Object.entries(response.headers ?? {})) {
        if (header.required && !headers.has(name)) problems.push(`${what}: declared header ${name} is missing`);
      }
      const plain: Record<string, string> = {};
      headers.forEach((v, k) => (plain[k] = v));
      const headerCheck = api.validateResponseHeaders(plain, operation.operationId!, { statusCode: status });
      if (!headerCheck.valid) problems.push(`${what}: headers: ${JSON.stringify(headerCheck.errors)}`);
      const type = headers.get("content-type")?.split(";")[0].trim();
      const hasBody = body !== null && body.length > 0;
      if (hasBody && type && response.content && !declares(Object.keys(response.content), type)) {
        problems.push(`${what}: content type ${type} is not declared (${Object.keys(response.content).join(", ")})`);
      }
      if (hasBody && !response.content && !options.bodiesWhereNoneDeclared) problems.push(`${what}: a body where the description declares none`);
      if (hasBody && type === "application/json") {
        let json: unknown;
        try {
          json = JSON.parse(body!);
        } catch {
          problems.push(`${what}: the body is not JSON`);
          return problems;
        }
        const result = api.validateResponse(json, operation.operationId!, status);
        if (!result.valid) problems.push(`${what}: body: ${JSON.stringify(result.errors).slice(0, 800)}`);
      }
      return problems;
    },
  };
}

/** Whether a response's declared media types (ranges like `*\/*` and `text/*` too) cover `type`. */
function declares(declared: string[], type: string): boolean {
  return declared.some((d) => d === type || d === "*/*" || (d.endsWith("/*") && type.startsWith(d.slice(0, -1))));
}
