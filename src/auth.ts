// Upload tokens: several at once, each optionally named ("ci:xxxx") so the log
// can say which one was used without showing it. The set can be replaced while
// the server runs (a rewritten AUTH_TOKEN_FILE), which is how a token is rotated.

import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http.js";
import { currentRequest } from "./ops/request-scope.js";
import type { Logger } from "./ops/log.js";

export interface NamedToken {
  /** Shown in logs instead of the token: the given name, or "token-<n>" by position. */
  name: string;
  token: string;
}

/** Tokens shorter than this are accepted with a warning at startup. */
export const SHORT_TOKEN = 16;

const NAME = /^([A-Za-z0-9_.-]{1,64}):(.+)$/;

/**
 * Tokens from AUTH_TOKEN ("a,b", comma-separated) or a token file (one per
 * line; blank lines and lines starting with # are ignored). Each entry is a
 * token or `name:token`; a token that itself contains ":" needs a name.
 */
export function parseTokens(text: string, separator: "," | "\n"): NamedToken[] {
  const entries = text
    .split(separator === "," ? "," : /\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== "" && !s.startsWith("#"));
  return entries.map((entry, i) => {
    const m = NAME.exec(entry);
    return m ? { name: m[1], token: m[2].trim() } : { name: `token-${i + 1}`, token: entry };
  });
}

/** The names of tokens too short to be safe; for the startup warning (never the tokens themselves). */
export function shortTokenNames(tokens: readonly NamedToken[]): string[] {
  return tokens.filter((t) => t.token.length < SHORT_TOKEN).map((t) => t.name);
}

/** Checks `Authorization: Bearer <t>` or `token <t>` (GitHub's form) against the current tokens. */
export class TokenAuth {
  private digests: { name: string; digest: Buffer }[] = [];

  constructor(
    tokens: readonly NamedToken[],
    private readonly log?: Logger,
  ) {
    this.replace(tokens);
  }

  /** Swaps in a new set of tokens; requests already authorized are not affected. */
  replace(tokens: readonly NamedToken[]): void {
    this.digests = tokens.map((t) => ({ name: t.name, digest: digest(t.token) }));
  }

  get size(): number {
    return this.digests.length;
  }

  /** Whether the request carries a current token, without logging or throwing: what reads use to show drafts. */
  readonly presents = (request: Request): boolean => {
    const m = /^(?:Bearer|token)[ \t]+(\S+)[ \t]*$/i.exec(request.headers.get("authorization") ?? "");
    if (!m) return false;
    const presented = digest(m[1]);
    let found = false;
    for (const { digest: expected } of this.digests) if (timingSafeEqual(presented, expected)) found = true;
    return found;
  };

  /** Throws 401 unless the request carries a current token; returns that token's name. */
  readonly authorize = (request: Request): string => {
    const header = request.headers.get("authorization") ?? "";
    const m = /^(?:Bearer|token)[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) {
      this.log?.warn("authentication failed", { reason: header ? "malformed Authorization header" : "no Authorization header" });
      throw unauthorized(header ? 'the Authorization header must be "Bearer <token>" or "token <token>"' : "this endpoint needs an Authorization: Bearer <token> header");
    }
    // Both sides are hashed so every comparison takes the same time whatever the
    // presented token's length, and every token is compared so the time does not
    // say which one (or whether an early one) matched.
    const presented = digest(m[1]);
    let match: string | null = null;
    for (const { name, digest: expected } of this.digests) {
      if (timingSafeEqual(presented, expected) && match === null) match = name;
    }
    if (match === null) {
      this.log?.warn("authentication failed", { reason: "invalid token" });
      throw unauthorized("Invalid authentication token");
    }
    const scope = currentRequest();
    if (scope) scope.token = match;
    return match;
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

function unauthorized(detail: string): HttpError {
  return new HttpError(401, detail, { "www-authenticate": 'Bearer realm="release-server"' });
}
