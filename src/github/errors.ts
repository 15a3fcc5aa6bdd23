// GitHub's error bodies: {"message", "errors"?, "documentation_url", "status"}.
// A 422 names what failed in `errors`, as GitHub's validation errors do:
// {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}.

import { HttpError, json } from "../http.js";

export interface FieldError {
  resource: string;
  code: "missing" | "missing_field" | "invalid" | "already_exists" | "unprocessable" | "custom";
  field: string;
  message?: string;
}

export class GitHubError extends HttpError {
  constructor(
    status: number,
    message: string,
    readonly errors: FieldError[] = [],
    headers: Record<string, string> = {},
  ) {
    super(status, message, headers);
  }
}

/** GitHub's 422 "Validation Failed", with the field errors that explain it. */
export function validationFailed(...errors: FieldError[]): GitHubError {
  return new GitHubError(422, "Validation Failed", errors);
}

export function githubErrorResponse(err: HttpError, documentationUrl: string): Response {
  const message = err.status === 404 ? "Not Found" : err.detail;
  const errors = err instanceof GitHubError && err.errors.length > 0 ? { errors: err.errors } : {};
  return json({ message, ...errors, documentation_url: documentationUrl, status: String(err.status) }, err.status, err.headers);
}
