// The repository the server hosts. Today there is one, and owner/repo in
// GitHub-style paths are accepted and ignored; pages name this one in their
// commands (`gh release download -R default/releases`).

export interface Repository {
  owner: string;
  repo: string;
}

export const DEFAULT_REPOSITORY: Repository = { owner: "default", repo: "releases" };
