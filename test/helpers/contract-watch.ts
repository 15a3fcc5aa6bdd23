// Watches every fetch() a test process makes (its own calls, Octokit's, the
// helpers') to a server that startServer started, and checks each response
// against openapi.yaml (contract.ts). Problems are reported when that server
// stops, so a test that received a response the description does not allow
// fails, whatever it was testing.

import { join } from "node:path";
import { loadContract, type Contract } from "./contract.js";

export interface Watch {
  /** Waits for the checks still running; the problems found so far. */
  settle(): Promise<string[]>;
  /** How many responses were checked. */
  count(): number;
}

const watched = new Map<string, { contract: Contract; pending: Promise<void>[]; problems: string[]; count: number }>();
let installed = false;
const contracts = new Map<string, Promise<Contract>>();

function install(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch;
  globalThis.fetch = async function watchedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const response = await original(input, init);
    try {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const entry = watched.get(url.origin);
      if (entry) {
        const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
        const type = response.headers.get("content-type") ?? "";
        const body = method !== "HEAD" && type.startsWith("application/json") ? response.clone().text() : Promise.resolve(null);
        entry.count++;
        entry.pending.push(
          body.then(
            (text) => void entry.problems.push(...entry.contract.check(method, url, response.status, response.headers, text)),
            () => {}, // a body the test aborted on purpose
          ),
        );
      }
    } catch {
      // not a URL we watch
    }
    return response;
  };
}

/** Checks every response from `serverUrl` against `openapiPath` (default: the project's openapi.yaml). */
export async function watchServer(serverUrl: string, openapiPath = join(import.meta.dirname, "../../openapi.yaml")): Promise<Watch> {
  install();
  let contract = contracts.get(openapiPath);
  if (!contract) contracts.set(openapiPath, (contract = loadContract(openapiPath)));
  const entry = { contract: await contract, pending: [] as Promise<void>[], problems: [] as string[], count: 0 };
  watched.set(new URL(serverUrl).origin, entry);
  return {
    async settle() {
      await Promise.all(entry.pending);
      return entry.problems;
    },
    count: () => entry.count,
  };
}

/** Stops watching a server (its port may be reused by another). */
export function unwatch(serverUrl: string): void {
  watched.delete(new URL(serverUrl).origin);
}
