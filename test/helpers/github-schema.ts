// Validators for GitHub's own `release`, `release-asset`, error and notes schemas, taken
// from @octokit/openapi (GitHub's published OpenAPI 3.0 description).
//
// OpenAPI 3.0 is JSON Schema plus `nullable`; Ajv understands `nullable` and
// is told to ignore the other OpenAPI-only keywords (example, x-*). Only the
// schemas these two need are extracted, so the huge document is not compiled.
// One documented deviation: GitHub's `release.author` is a `simple-user`,
// never null; we have no users and emit null, as issue 3 asks, so `author`
// alone is checked against `nullable-simple-user`.

import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const require = createRequire(import.meta.url);
const spec = require("@octokit/openapi/generated/api.github.com.json") as {
  components: { schemas: Record<string, unknown> };
};

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function collect(name: string, into: Record<string, unknown>): void {
  if (name in into) return;
  const schema = spec.components.schemas[name];
  if (!schema) throw new Error(`GitHub's spec has no schema ${name}`);
  into[name] = schema;
  const text = JSON.stringify(schema);
  for (const m of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) collect(m[1], into);
}

function build(): Record<"release" | "asset" | "basicError" | "validationError" | "notes", ValidateFunction> {
  const schemas: Record<string, unknown> = {};
  collect("release", schemas);
  collect("nullable-simple-user", schemas);
  for (const name of ["basic-error", "validation-error", "release-notes-content"]) collect(name, schemas);
  const release = structuredClone(schemas.release) as { properties: Record<string, unknown> };
  release.properties.author = { $ref: "#/components/schemas/nullable-simple-user" };
  schemas["release-as-served"] = release;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "github", components: { schemas } });
  return {
    release: ajv.getSchema("github#/components/schemas/release-as-served")!,
    asset: ajv.getSchema("github#/components/schemas/release-asset")!,
    basicError: ajv.getSchema("github#/components/schemas/basic-error")!,
    validationError: ajv.getSchema("github#/components/schemas/validation-error")!,
    notes: ajv.getSchema("github#/components/schemas/release-notes-content")!,
  };
}

export const github = build();

/** The unmodified GitHub `release` schema's required fields, to show what is and is not covered. */
export const releaseRequired = (spec.components.schemas.release as { required: string[] }).required;
export const assetRequired = (spec.components.schemas["release-asset"] as { required: string[] }).required;

export function errorsOf(validate: ValidateFunction, value: unknown): string {
  return validate(value) ? "" : JSON.stringify(validate.errors, null, 1);
}
