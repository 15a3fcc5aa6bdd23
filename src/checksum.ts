// Checksums a client states for its upload, in the forms clients send them:
// hex or base64 in X-Checksum-Sha256 or a `sha256` form field, or RFC 9530's
// `sha-256=:<base64>:` in Repr-Digest / Content-Digest.

import { HttpError } from "./http.js";

/**
 * The expected SHA-256 as lower-case hex, or null when the client stated none.
 * Repr-Digest and Content-Digest describe the request body, which is the
 * package only for a raw upload, so they count only when `raw` is set.
 */
export function expectedSha256(headers: Headers, { raw, formField }: { raw: boolean; formField?: string }): string | null {
  const stated: { from: string; value: string }[] = [];
  // An empty field states nothing: HTML forms and Swagger UI's "Try it out" send optional fields blank.
  if (formField !== undefined && formField.trim() !== "") stated.push({ from: 'the "sha256" form field', value: parsePlain(formField, "sha256 form field") });
  const header = headers.get("x-checksum-sha256");
  if (header !== null) stated.push({ from: "X-Checksum-Sha256", value: parsePlain(header, "X-Checksum-Sha256 header") });
  for (const name of raw ? ["repr-digest", "content-digest"] : []) {
    const value = headers.get(name);
    const sha = value === null ? null : parseDigestField(value, name);
    if (sha) stated.push({ from: name, value: sha });
  }
  if (stated.length === 0) return null;
  const differing = stated.find((s) => s.value !== stated[0].value);
  if (differing) {
    throw new HttpError(400, `${stated[0].from} and ${differing.from} state different checksums (${stated[0].value} and ${differing.value})`);
  }
  return stated[0].value;
}

export function checkSha256(expected: string | null, actual: string): void {
  if (expected !== null && expected !== actual) {
    throw new HttpError(400, `checksum mismatch: the client stated sha256 ${expected}, but the received bytes hash to ${actual}; nothing was stored`);
  }
}

function parsePlain(value: string, where: string): string {
  const v = value.trim().replace(/^sha256:/i, "");
  if (/^[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase();
  const hex = base64ToHex(v);
  if (hex) return hex;
  throw new HttpError(400, `the ${where} must be a SHA-256 digest in hex (64 characters) or base64 (44 characters)`);
}

/** RFC 9530 dictionary: `sha-256=:<base64>:, sha-512=:...:`; other algorithms are ignored. */
function parseDigestField(value: string, name: string): string | null {
  for (const member of value.split(",")) {
    const m = /^\s*([a-z0-9-]+)\s*=\s*:([A-Za-z0-9+/=]*):\s*$/i.exec(member);
    if (!m) throw new HttpError(400, `the ${name} header is malformed; expected sha-256=:<base64>:`);
    if (m[1].toLowerCase() !== "sha-256") continue;
    const hex = base64ToHex(m[2]);
    if (!hex) throw new HttpError(400, `the sha-256 value in ${name} is not a base64 SHA-256 digest`);
    return hex;
  }
  return null;
}

function base64ToHex(v: string): string | null {
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) return null;
  const bytes = Buffer.from(v.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return bytes.length === 32 ? bytes.toString("hex") : null;
}
