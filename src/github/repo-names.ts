// Owner and repository names, by GitHub's rules, checked before any path or
// key is built from them. Pure.
//
// owner: 1-39 letters, digits or hyphens, not starting or ending with a hyphen.
// repo:  1-100 letters, digits, ".", "-", "_", not starting with a dot (so
//        never "." or ".."; GitHub allows ".github", this server does not,
//        because the name becomes a directory).
// Both are case-insensitive on GitHub; the key is the lower-case form.

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;
const REPO = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

export interface RepoName {
  owner: string;
  repo: string;
  /** "owner/repo" in lower case: how the repository is found and stored. */
  key: string;
}

/** The checked name, or null when `owner`/`repo` cannot name a repository. */
export function parseRepoName(owner: string, repo: string): RepoName | null {
  if (!OWNER.test(owner) || !REPO.test(repo)) return null;
  return { owner, repo, key: `${owner}/${repo}`.toLowerCase() };
}

/** "owner/repo" from configuration; null when it is not a valid full name. */
export function parseFullName(fullName: string): RepoName | null {
  const parts = fullName.split("/");
  return parts.length === 2 ? parseRepoName(parts[0], parts[1]) : null;
}
