// WORKERS > 1 on Node: node:cluster forks that many server processes, which
// share the listening socket. Each worker keeps its own index; they agree
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
  | { type: "changed"; id: number; names: string[]; key?: string } // worker -> primary -> other workers (key: which wait it settles)
  | { type: "seen"; key?: string } // worker -> primary: it has marked the names
  | { type: "relayed"; id: number } // primary -> worker: every other worker has seen them
  | { type: "downloaded"; name: string; sha256: string } // worker -> primary
  | { type: "counts"; counts: [string, string, number][] }; // primary -> workers: name, sha256, total

export const isWorker = (): boolean => cluster.isWorker;

/** The primary: forks the workers, relays between them, keeps the download counts; resolves when they have all exited. */
export async function runPrimary(opts: { workers: number; store: PackageStore; log: (m: string) => void }): Promise<void> {
  const { store, log } = opts;
  let stopping = false;
  const waiting = new Map<string, { from: Worker; id: number; pending: Set<number> }>(); // by `${worker.id}:${id}`
  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
  // A worker still starting cannot answer yet: the names changed meanwhile are kept for it, and sent when it is ready.
  const missed = new Map<number, Set<string>>();
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
    missed.set(worker.id, new Set());
    worker.on("message", (message: Message) => {
      if (message.type === "ready") {
        const names = [...(missed.get(worker.id) ?? [])];
        missed.delete(worker.id);
        if (names.length > 0) send(worker, { type: "changed", id: 0, names });
      } else if (message.type === "downloaded") {
        counts.record({ name: message.name, sha256: message.sha256, size: 0, createdAt: new Date(0) });
      } else if (message.type === "changed") {
        const key = `${worker.id}:${message.id}`;
        for (const names of missed.values()) for (const name of message.names) names.add(name);
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
  for (let i = 0; i < opts.workers; i++) fork();

  cluster.on("exit", (worker, code, signal) => {
    // A worker that went away sees nothing more: nobody waits for it.
    missed.delete(worker.id);
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
      for (const worker of live()) worker.process.kill(signal);
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

/** In a worker: the store, telling the other workers of every change before a commit or removal resolves. */
export function sharedStore(store: PackageStore): PackageStore {
  let nextId = 1;
  const waiting = new Map<number, () => void>();
  process.on("message", (message: Message) => {
    if (message.type === "changed") {
      store.noteChanged(message.names);
      process.send!({ type: "seen", key: message.key } satisfies Message);
    } else if (message.type === "relayed") {
      waiting.get(message.id)?.();
      waiting.delete(message.id);
    }
  });
  process.send!({ type: "ready" } satisfies Message);
  const announce = (names: string[]) =>
    new Promise<void>((resolve) => {
      const id = nextId++ % 1e9;
      waiting.set(id, resolve);
      process.send!({ type: "changed", id, names } satisfies Message);
    });
  return {
    list: () => store.list(),
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
    health: () => store.health(),
    onChange: (listener) => store.onChange(listener),
    noteChanged: (names) => store.noteChanged(names),
    close: () => store.close(),
  };
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
