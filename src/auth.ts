import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http.js";

/**
 * Returns a check that throws 401 unless the request carries `Bearer <token>`.
 * Both sides are hashed first so the comparison takes the same time whatever
 * the length or content of the presented token.
 */
export function bearerAuth(token: string): (request: Request) => void {
  const expected = digest(token);
  return (request) => {
    const header = request.headers.get("authorization") ?? "";
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) throw unauthorized(header ? "the Authorization header must be \"Bearer <token>\"" : "this endpoint needs an Authorization: Bearer <token> header");
    if (!timingSafeEqual(digest(m[1]), expected)) throw unauthorized("the token is not valid");
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

function unauthorized(detail: string): HttpError {
  return new HttpError(401, detail, { "www-authenticate": 'Bearer realm="release-server"' });
}
