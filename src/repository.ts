// A repository as the pages name it in their commands (`gh release download -R owner/repo`).

export interface Repository {
  owner: string;
  repo: string;
}
