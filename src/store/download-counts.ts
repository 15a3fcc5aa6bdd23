// Completed downloads per package, for the `download_count` of release assets.
//
// Counts live in memory and are kept through the store as the document
// `download-counts.json` (on disk, `.download-counts.json` beside the
// packages), batched: the first download after a write schedules the next one
// `delayMs` later, so a burst of downloads costs one write. A write adds the
// downloads counted here since the last one to the saved totals, in one
// updateDocument step, so processes sharing a store add up instead of
// overwriting each other; it is flushed once more at shutdown. A count belongs to a name *and* its bytes: a
// package re-uploaded with different content starts again from zero, as a new
// GitHub asset does. Entries of packages that no longer exist are dropped at
// the next write.

import type { DownloadTally, PackageEntry, PackageStore } from "./contract.js";

export const COUNTS_DOCUMENT = "download-counts.json";

/** Where the counts are kept: the store's documents. */
export type Documents = Pick<PackageStore, "loadDocument" | "updateDocument" | "addDownloads">;

interface Counted {
  sha256: string;
  count: number;
}

export interface DownloadCountsOptions {
  /** How long to gather downloads before writing; default 2 s. */
  delayMs?: number;
  /** The names that still exist, to drop counts of deleted packages when writing. */
  liveNames?: () => Promise<Iterable<string>>;
  log?: (message: string) => void;
  /** Called after counts were saved: answers that show them may be rebuilt. */
  onSaved?: () => void;
}

export class DownloadCounts {
  private readonly counts = new Map<string, Counted>();
  /** Downloads not yet added to counts shared by several replicas (stores with addDownloads). */
  private readonly pending = new Map<string, Counted>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly documents: Documents,
    private readonly opts: DownloadCountsOptions,
  ) {}

  /** Loads the saved counts; a missing or unreadable document starts from zero. */
  static async open(documents: Documents, opts: DownloadCountsOptions = {}): Promise<DownloadCounts> {
    const counts = new DownloadCounts(documents, opts);
    if (documents.addDownloads) {
      try {
        for (const c of await documents.addDownloads([])) counts.counts.set(c.name, { sha256: c.sha256, count: c.count });
      } catch (err) {
        opts.log?.(`download counts: cannot read the shared counts, starting from zero: ${(err as Error).message}`);
      }
      return counts;
    }
    let text: string | null = null;
    try {
      text = await documents.loadDocument(COUNTS_DOCUMENT);
    } catch (err) {
      opts.log?.(`download counts: cannot read ${COUNTS_DOCUMENT}, starting from zero: ${(err as Error).message}`);
    }
    for (const [name, c] of parseCounts(text, opts.log)) counts.counts.set(name, c);
    return counts;
  }

  /** How many times these exact bytes were downloaded completely. */
  count(entry: PackageEntry): number {
    const c = this.counts.get(entry.name);
    return c && c.sha256 === entry.sha256 ? c.count : 0;
  }

  /** Every count: name, sha256, total. */
  snapshot(): [string, string, number][] {
    return [...this.counts].map(([name, c]) => [name, c.sha256, c.count]);
  }

  /** Counts one completed download; the write happens later, batched. */
  record(entry: PackageEntry): void {
    this.counts.set(entry.name, { sha256: entry.sha256, count: this.count(entry) + 1 });
    const pending = this.pending.get(entry.name);
    this.pending.set(entry.name, { sha256: entry.sha256, count: pending?.sha256 === entry.sha256 ? pending.count + 1 : 1 });
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.opts.delayMs ?? 2000);
    // Never keep the process alive just to write counts; shutdown flushes them.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Writes pending counts now (at shutdown, or when the batch timer fires). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // One write at a time; a flush while writing waits and then writes what is new.
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await this.share(this.documents.addDownloads?.bind(this.documents) ?? ((sent) => this.addToDocument(sent)));
  }

  /** The shared counts of a store without addDownloads: the document, updated in turn by everyone who shares it. */
  private async addToDocument(sent: DownloadTally[]): Promise<DownloadTally[]> {
    const live = this.opts.liveNames ? new Set(await this.opts.liveNames()) : null;
    let totals = new Map<string, Counted>();
    await this.documents.updateDocument(COUNTS_DOCUMENT, (text) => {
      totals = parseCounts(text, this.opts.log);
      for (const c of sent) {
        const saved = totals.get(c.name);
        totals.set(c.name, { sha256: c.sha256, count: (saved?.sha256 === c.sha256 ? saved.count : 0) + c.count });
      }
      if (live) for (const name of totals.keys()) if (!live.has(name)) totals.delete(name);
      const packages = Object.fromEntries([...totals].sort(([a], [b]) => (a < b ? -1 : 1)));
      return JSON.stringify({ version: 1, packages }, null, 1) + "\n";
    });
    return [...totals].map(([name, c]) => ({ name, ...c }));
  }

  /** Adds this replica's new downloads to the shared counts and takes the totals, which include every replica's. */
  private async share(add: NonNullable<Documents["addDownloads"]>): Promise<void> {
    const sent = [...this.pending].map(([name, c]) => ({ name, ...c }));
    this.pending.clear();
    try {
      const totals = await add(sent);
      this.counts.clear();
      for (const c of totals) this.counts.set(c.name, { sha256: c.sha256, count: c.count });
      // Downloads recorded while the totals were on their way are not in them yet.
      for (const [name, c] of this.pending) {
        const total = this.counts.get(name);
        this.counts.set(name, { sha256: c.sha256, count: (total?.sha256 === c.sha256 ? total.count : 0) + c.count });
      }
      this.opts.onSaved?.();
    } catch (err) {
      for (const c of sent) {
        const later = this.pending.get(c.name);
        this.pending.set(c.name, { sha256: c.sha256, count: c.count + (later?.sha256 === c.sha256 ? later.count : 0) });
      }
      this.dirty = true;
      this.opts.log?.(`download counts: could not save ${COUNTS_DOCUMENT}: ${(err as Error).message}`);
    }
  }
}

/** The saved totals; an unreadable document counts as none (and says so). */
function parseCounts(text: string | null, log?: (message: string) => void): Map<string, Counted> {
  const out = new Map<string, Counted>();
  if (text === null) return out;
  try {
    const saved = JSON.parse(text) as { packages?: Record<string, Counted> };
    for (const [name, c] of Object.entries(saved.packages ?? {})) {
      if (typeof c?.sha256 === "string" && Number.isSafeInteger(c.count) && c.count > 0) out.set(name, { sha256: c.sha256, count: c.count });
    }
  } catch (err) {
    log?.(`download counts: ignoring unreadable ${COUNTS_DOCUMENT}: ${(err as Error).message}`);
  }
  return out;
}
