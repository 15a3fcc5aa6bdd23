import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http.js";

// GitHub clients (gh, Octokit) send `token <t>`; both schemes are accepted.
const SCHEME = /^(?:Bearer|token)[ \t]+(\S+)[ \t]*$/i;

/**
 * Returns a check that throws 401 unless the request carries `Bearer <token>` (or `token <token>`).
 * Both sides are hashed first so the comparison takes the same time whatever
 * the length or content of the presented token.
 */
export function bearerAuth(token: string): (request: Request) => void {
  const expected = digest(token);
  return (request) => {
    const header = request.headers.get("authorization") ?? "";
    const m = SCHEME.exec(header);
    if (!m) throw unauthorized(header ? "the Authorization header must be \"Bearer <token>\"" : "this endpoint needs an Authorization: Bearer <token> header");
    if (!timingSafeEqual(digest(m[1]), expected)) throw unauthorized("the token is not valid");
  };
}

/** Whether the request carries the token (for reads that show more to its holder, such as drafts); never throws. */
export function presentsToken(token: string): (request: Request) => boolean {
  const expected = digest(token);
  return (request) => {
    const m = SCHEME.exec(request.headers.get("authorization") ?? "");
    return m !== null && timingSafeEqual(digest(m[1]), expected);
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

function unauthorized(detail: string): HttpError {
  return new HttpError(401, detail, { "www-authenticate": 'Bearer realm="release-server"' });
}
