// Packages that load on first use (busboy with the first multipart upload,
// prom-client with the first scrape, graphql-js with `gh`'s first query,
// markdown-it with the first release notes, yaml with a config file or
// /openapi.json) are still looked for at startup: an install or an image
// without one fails at once, naming it, rather than at the first upload or
// scrape. Resolving a package finds its entry file without running its code.

import { createRequire } from "node:module";

const LOADED_ON_FIRST_USE = ["busboy", "prom-client", "graphql", "markdown-it", "yaml"];

/** Why each missing package cannot be found; empty when all are there. */
export function missingDependencies(): string[] {
  const require = createRequire(import.meta.url);
  const problems: string[] = [];
  for (const name of LOADED_ON_FIRST_USE) {
    try {
      require.resolve(name);
    } catch (err) {
      problems.push(`Cannot find package '${name}' (${(err as Error).message.split("\n")[0]})`);
    }
  }
  return problems;
}
