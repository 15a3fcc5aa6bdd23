// The repositories this server holds: one store per repository, opened on
// demand. The default repository (DEFAULT_REPOSITORY) is the store the older
// API uses, at STORAGE_PATH itself; every other one is created by its first
// authenticated write and recorded in the document `repositories.json` of the
// default store, so a backend that keeps documents in a database needs nothing
// more for several replicas to agree. See docs/repositories.md.
//
// Each repository's release metadata is one document, `releases.json`,
// replaced atomically on every change. Changes to it are serialized per
// repository in this process (read, modify, write); reads reuse the last copy
// for at most METADATA_TTL_MS, so a change made by another replica shows up
// within that time.

import { DownloadCounts, openStore, type StoreOptions, type PackageEntry, type PackageStore } from "../store/index.js";
import { emptyReleases, parseReleasesDocument, RELEASES_DOCUMENT, type ReleasesDocument } from "./release-records.js";
import { parseRepoName, type RepoName } from "./repo-names.js";

const REPOSITORIES_DOCUMENT = "repositories.json";
const METADATA_TTL_MS = 1000;

export interface DownloadCounter {
  record(entry: PackageEntry): void;
  count(entry: PackageEntry): number;
}

export class Repository {
  private cached: { at: number; doc: ReleasesDocument; text?: string | null } | null = null;
  /** Counts change notices: a document read or saved before the latest notice may already be stale. */
  private notices = 0;

  constructor(
    readonly name: RepoName,
    readonly isDefault: boolean,
    readonly store: PackageStore,
    readonly downloads: DownloadCounter,
  ) {
    // Release metadata saved by another worker or process comes with a change notice.
    store.onChange(() => {
      this.cached = null;
      this.notices++;
    });
  }

  /** The release metadata, at most METADATA_TTL_MS old (fresh after this process's own changes). */
  async releases(): Promise<ReleasesDocument> {
    if (this.cached && Date.now() - this.cached.at <= METADATA_TTL_MS) return this.cached.doc;
    const before = this.cached;
    const notices = this.notices;
    const text = await this.store.loadDocument(RELEASES_DOCUMENT);
    // Unchanged text keeps the same document object, so models built from it (cached per object) are not
    // built again: with 10,000 packages that is a fifth of a second every METADATA_TTL_MS.
    const doc = before && before.text === text ? before.doc : parseReleasesDocument(text);
    // A notice that came while reading may be of a save the read missed: answer with what was read, keep nothing.
    if (notices === this.notices) this.cached = { at: Date.now(), doc, text };
    return doc;
  }

  /**
   * Reads the metadata fresh, lets `change` modify a copy, and saves it
   * atomically; one change at a time per repository, in every process that
   * shares it (the store's updateDocument). When `change` throws, nothing is saved.
   */
  update<T>(change: (doc: ReleasesDocument) => Promise<T> | T): Promise<T> {
    let result!: T;
    return this.store
      .updateDocument(RELEASES_DOCUMENT, async (text) => {
        const doc = parseReleasesDocument(text);
        result = await change(doc);
        return JSON.stringify(doc, null, 1) + "\n";
      })
      .then(() => {
        // Not the document just saved: another worker may have saved after it (its turn came once ours
        // ended) and its notice may already have come; keeping ours would hide that until METADATA_TTL_MS.
        // The count makes a read that began before this save keep nothing either.
        this.cached = null;
        this.notices++;
        return result;
      });
  }
}

export interface RepositoriesOptions {
  storagePath: string;
  log: (message: string) => void;
  defaultName: RepoName;
  defaultStore: PackageStore;
  defaultDownloads: DownloadCounter;
  /** The backend settings every repository's store is opened with (object storage, database). */
  storeOptions?: Omit<StoreOptions, "storagePath" | "log" | "namespace">;
  /** In a WORKERS worker: wraps a repository's store so its changes reach the sibling workers. */
  share?: (store: PackageStore, namespace: string) => PackageStore;
}

export class Repositories {
  readonly default: Repository;
  private readonly listeners = new Set<() => void>();
  private readonly open = new Map<string, Promise<Repository>>();
  private known: { at: number; keys: Set<string> } | null = null;
  private readonly counters: DownloadCounts[] = [];

  constructor(private readonly opts: RepositoriesOptions) {
    this.default = new Repository(opts.defaultName, true, opts.defaultStore, opts.defaultDownloads);
  }

  /** Calls `listener` when the packages or documents of any repository change, opened now or later. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** The repository, or undefined when the name is not valid or no such repository exists. */
  async find(owner: string, repo: string): Promise<Repository | undefined> {
    const name = parseRepoName(owner, repo);
    if (!name) return undefined;
    if (name.key === this.default.name.key) return this.default;
    if (!this.open.has(name.key) && !(await this.exists(name.key))) return undefined;
    return this.opened(name);
  }

  /** The repository, created when it does not exist yet; undefined only for a name that is not valid. */
  async findOrCreate(owner: string, repo: string): Promise<Repository | undefined> {
    const name = parseRepoName(owner, repo);
    if (!name) return undefined;
    const found = await this.find(owner, repo);
    if (found) return found;
    const repository = await this.opened(name); // creates its directory (or prefix)
    await this.record(name.key);
    this.opts.log(`created repository ${name.key}`);
    return repository;
  }

  async close(): Promise<void> {
    for (const counts of this.counters) await counts.flush();
    for (const pending of this.open.values()) await (await pending).store.close();
  }

  private opened(name: RepoName): Promise<Repository> {
    let pending = this.open.get(name.key);
    if (!pending) {
      pending = (async () => {
        const { storagePath, log, storeOptions } = this.opts;
        const opened = await openStore({ ...storeOptions, storagePath, log, namespace: name.key.split("/") });
        const store = this.opts.share ? this.opts.share(opened, name.key) : opened;
        store.onChange(() => {
          for (const listener of this.listeners) listener();
        });
        const counts = await DownloadCounts.open(store, { liveNames: async () => (await store.list()).map((p) => p.name), log });
        this.counters.push(counts);
        return new Repository(name, false, store, counts);
      })();
      pending.catch(() => this.open.delete(name.key));
      this.open.set(name.key, pending);
    }
    return pending;
  }

  private async exists(key: string): Promise<boolean> {
    if (this.known && Date.now() - this.known.at <= METADATA_TTL_MS) {
      if (this.known.keys.has(key)) return true;
    }
    this.known = { at: Date.now(), keys: await this.loadList() };
    return this.known.keys.has(key);
  }

  private async loadList(): Promise<Set<string>> {
    return parseList(await this.default.store.loadDocument(REPOSITORIES_DOCUMENT), this.opts.log);
  }

  private async record(key: string): Promise<void> {
    let keys!: Set<string>;
    await this.default.store.updateDocument(REPOSITORIES_DOCUMENT, (text) => {
      keys = parseList(text, this.opts.log);
      if (keys.has(key)) return null;
      keys.add(key);
      return JSON.stringify({ version: 1, repositories: [...keys].sort() }, null, 1) + "\n";
    });
    this.known = { at: Date.now(), keys };
  }
}

function parseList(text: string | null, log: (message: string) => void): Set<string> {
  if (text === null) return new Set();
  try {
    const doc = JSON.parse(text) as { repositories?: unknown };
    return new Set(Array.isArray(doc.repositories) ? doc.repositories.filter((k): k is string => typeof k === "string") : []);
  } catch {
    log(`repositories: ignoring unreadable ${REPOSITORIES_DOCUMENT}`);
    return new Set();
  }
}

export { emptyReleases };
