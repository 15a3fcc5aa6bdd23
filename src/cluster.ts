// WORKERS > 1: node:cluster forks that many server processes, which share
// the port (src/adapters/types.ts, WorkerSupport). Each worker keeps its own index; they agree
// through the primary, which relays change notices: a worker that committed
// or removed a package tells the others and answers its client only once
// every other worker has marked those names to be looked at again, so an
// acknowledged upload is visible through every worker before the next
// request anywhere. Download counts are kept by the primary (one writer),
// which sends the totals to the workers whenever it saves them.

import cluster, { type Worker } from "node:cluster";
import type { PackageEntry, PackageReader, PackageStore, StagedUpload } from "./store/index.js";
import { DownloadCounts } from "./store/index.js";

type Message =
  | { type: "ready" } // worker -> primary: it listens for change notices now
  // worker -> primary -> other workers. store: the repository's namespace ("" the default); key: which wait it settles.
  | { type: "changed"; id: number; store: string; names: string[]; key?: string }
  | { type: "seen"; key?: string } // worker -> primary: it has marked the names
  | { type: "relayed"; id: number } // primary -> worker: every other worker has seen them
  | { type: "lock"; id: number; lock: string } // worker -> primary: its turn to update a document, please
  | { type: "locked"; id: number } // primary -> worker: its turn now
  | { type: "unlock"; lock: string } // worker -> primary: done
  | { type: "downloaded"; name: string; sha256: string } // worker -> primary
  | { type: "counts"; counts: [string, string, number][] }; // primary -> workers: name, sha256, total

export const isWorker = (): boolean => cluster.isWorker;

/** The primary: forks the workers, relays between them, keeps the download counts; resolves when they have all exited. */
export async function runPrimary(opts: { workers: number; store: PackageStore; log: (m: string) => void }): Promise<void> {
  const { store, log } = opts;
  let stopping = false;
  const waiting = new Map<string, { from: Worker; id: number; pending: Set<number> }>(); // by `${worker.id}:${id}`
  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
  // A worker still starting cannot answer yet: the names changed meanwhile (by store) are kept for it, and sent when it is ready.
  const missed = new Map<number, Map<string, Set<string>>>();
  const locks = new DocumentLocks((worker, id) => send(worker, { type: "locked", id }));
  const send = (worker: Worker, message: Message) => {
    if (worker.isConnected()) worker.send(message);
  };
  const counts = await DownloadCounts.open(store, {
    log,
    liveNames: async () => (await store.list()).map((p) => p.name),
    onSaved: () => {
      const totals = (counts as DownloadCounts).snapshot();
      for (const worker of live()) send(worker, { type: "counts", counts: totals });
    },
  });

  const settle = (key: string) => {
    const wait = waiting.get(key);
    if (!wait || wait.pending.size > 0) return;
    waiting.delete(key);
    send(wait.from, { type: "relayed", id: wait.id });
  };

  const fork = () => {
    const worker = cluster.fork();
    missed.set(worker.id, new Map());
    worker.on("message", (message: Message) => {
      if (message.type === "ready") {
        for (const [store, names] of missed.get(worker.id) ?? []) send(worker, { type: "changed", id: 0, store, names: [...names] });
        missed.delete(worker.id);
        startNext();
      } else if (message.type === "lock") {
        locks.take(message.lock, worker, message.id);
      } else if (message.type === "unlock") {
        locks.give(message.lock, worker);
      } else if (message.type === "downloaded") {
        counts.record({ name: message.name, sha256: message.sha256, size: 0, createdAt: new Date(0) });
      } else if (message.type === "changed") {
        const key = `${worker.id}:${message.id}`;
        for (const stores of missed.values()) {
          if (!stores.has(message.store)) stores.set(message.store, new Set());
          for (const name of message.names) stores.get(message.store)!.add(name);
        }
        const others = live().filter((w) => w !== worker && !missed.has(w.id));
        waiting.set(key, { from: worker, id: message.id, pending: new Set(others.map((w) => w.id)) });
        for (const other of others) send(other, { ...message, key });
        settle(key);
      } else if (message.type === "seen") {
        if (message.key === undefined) return; // names it missed while starting: nobody waits
        waiting.get(message.key)?.pending.delete(worker.id);
        settle(message.key);
      }
    });
    return worker;
  };
  // The workers start one after another, each once the one before has its index: every worker
  // scans the storage as it starts, and side by side on a small host they slow each other down, so
  // the first answer would come later than with one worker (10,000 packages under Deno, two workers:
  // 755 to 920 ms side by side, 449 to 500 one after another, about 400 for one).
  let toStart = opts.workers;
  const startNext = () => {
    if (toStart === 0 || stopping) return;
    toStart--;
    fork();
  };
  startNext();

  cluster.on("exit", (worker, code, signal) => {
    // A worker that went away sees nothing more: nobody waits for it, and its turns pass on.
    missed.delete(worker.id);
    locks.forget(worker);
    for (const key of [...waiting.keys()]) {
      waiting.get(key)!.pending.delete(worker.id);
      settle(key);
    }
    if (!stopping) {
      log(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
      fork();
    }
  });

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping ${live().length} workers`);
      // process.kill by pid: under Deno, worker.process.kill() ends the worker before its own handler runs.
      for (const worker of live()) if (worker.process.pid) process.kill(worker.process.pid, signal);
      const check = () => {
        if (live().length === 0 && Object.keys(cluster.workers ?? {}).length === 0) resolve();
        else setTimeout(check, 50);
      };
      check();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await counts.flush();
  await store.close();
}

/** The primary's turns for document updates: one worker at a time per document, in order of asking. */
class DocumentLocks {
  private readonly held = new Map<string, { worker: Worker; queue: { worker: Worker; id: number }[] }>();
  constructor(private readonly grant: (worker: Worker, id: number) => void) {}

  take(lock: string, worker: Worker, id: number): void {
    const state = this.held.get(lock);
    if (state) state.queue.push({ worker, id });
    else {
      this.held.set(lock, { worker, queue: [] });
      this.grant(worker, id);
    }
  }

  give(lock: string, worker: Worker): void {
    const state = this.held.get(lock);
    if (!state || state.worker !== worker) return;
    const next = state.queue.shift();
    if (!next) this.held.delete(lock);
    else {
      state.worker = next.worker;
      this.grant(next.worker, next.id);
    }
  }

  forget(worker: Worker): void {
    for (const [lock, state] of [...this.held]) {
      state.queue = state.queue.filter((w) => w.worker !== worker);
      if (state.worker === worker) this.give(lock, worker);
    }
  }
}

/** A worker's side of the primary: one listener for every store it shares. */
class PrimaryLink {
  private nextId = 1;
  private readonly waits = new Map<number, () => void>();
  private readonly stores = new Map<string, PackageStore>();
  /** Names changed in stores this worker has not opened (yet): a store being opened may have listed too early. */
  private readonly early = new Map<string, { at: number; names: Set<string> }>();

  constructor() {
    process.on("message", (message: Message) => {
      if (message.type === "changed") {
        const store = this.stores.get(message.store);
        if (store) store.noteChanged(message.names);
        else this.remember(message.store, message.names);
        process.send!({ type: "seen", key: message.key } satisfies Message);
      } else if (message.type === "relayed" || message.type === "locked") {
        this.waits.get(message.id)?.();
        this.waits.delete(message.id);
      }
    });
  }

  register(namespace: string, store: PackageStore): void {
    this.stores.set(namespace, store);
    const early = this.early.get(namespace);
    this.early.delete(namespace);
    if (early) store.noteChanged([...early.names]);
    if (namespace === "") process.send!({ type: "ready" } satisfies Message);
  }

  /** Sends a message and resolves when the primary answers it (relayed, locked). */
  ask(message: { type: "changed"; store: string; names: string[] } | { type: "lock"; lock: string }): Promise<void> {
    return new Promise<void>((resolve) => {
      const id = this.nextId++ % 1e9;
      this.waits.set(id, resolve);
      process.send!({ ...message, id } satisfies Message);
    });
  }

  tell(message: Message): void {
    process.send!(message);
  }

  private remember(namespace: string, names: string[]): void {
    const now = Date.now();
    for (const [ns, e] of this.early) if (now - e.at > 60_000) this.early.delete(ns);
    const e = this.early.get(namespace) ?? { at: now, names: new Set<string>() };
    e.at = now;
    for (const name of names) e.names.add(name);
    this.early.set(namespace, e);
  }
}

let link: PrimaryLink | null = null;

/**
 * In a worker: the store of one repository (namespace "" for the default),
 * telling the other workers of every change before a commit, removal or
 * document save resolves, and taking turns with them for document updates.
 */
export function sharedStore(store: PackageStore, namespace = ""): PackageStore {
  const primary = (link ??= new PrimaryLink());
  primary.register(namespace, store);
  const announce = (names: string[]) => primary.ask({ type: "changed", store: namespace, names });
  const shared: PackageStore = {
    list: () => store.list(),
    ...(store.current ? { current: () => store.current!() } : {}),
    ...(store.listings ? { listings: () => store.listings!() } : {}),
    get: (name) => store.get(name),
    open: (name): Promise<PackageReader | undefined> => store.open(name),
    stage: (source, maxBytes): Promise<StagedUpload> => store.stage(source, maxBytes),
    discard: (staged) => store.discard(staged),
    async commit(staged, name, options) {
      const result = await store.commit(staged, name, options);
      await announce([name]);
      return result;
    },
    async remove(name) {
      const removed = await store.remove(name);
      if (removed) await announce([name]);
      return removed;
    },
    loadDocument: (key) => store.loadDocument(key),
    async saveDocument(key, text) {
      await store.saveDocument(key, text);
      await announce([]);
    },
    async updateDocument(key, change) {
      const lock = `${namespace}\0${key}`;
      await primary.ask({ type: "lock", lock });
      try {
        await store.updateDocument(key, change);
      } finally {
        primary.tell({ type: "unlock", lock });
      }
      await announce([]);
    },
    health: () => store.health(),
    onChange: (listener) => store.onChange(listener),
    noteChanged: (names) => store.noteChanged(names),
    close: () => store.close(),
  };
  if (store.prune) {
    const prune = store.prune.bind(store);
    shared.prune = async (choose) => {
      const removed = await prune(choose);
      if (removed.length > 0) await announce(removed.map((p) => p.name));
      return removed;
    };
  }
  if (store.addDownloads) shared.addDownloads = store.addDownloads.bind(store);
  return shared;
}

/** In a worker: download counts are sent to the primary; totals come back each time it saves them. */
export function sharedCounts(onTotals: () => void): { record(entry: PackageEntry): void; count(entry: PackageEntry): number } {
  const totals = new Map<string, { sha256: string; count: number }>();
  process.on("message", (message: Message) => {
    if (message.type !== "counts") return;
    totals.clear();
    for (const [name, sha256, count] of message.counts) totals.set(name, { sha256, count });
    onTotals();
  });
  return {
    record: (entry) => process.send!({ type: "downloaded", name: entry.name, sha256: entry.sha256 } satisfies Message),
    count: (entry) => {
      const c = totals.get(entry.name);
      return c && c.sha256 === entry.sha256 ? c.count : 0;
    },
  };
}
