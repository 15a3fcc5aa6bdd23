// One document update at a time per key, within this process: the whole
// read-change-save of a store without a shared lock (a directory, a bucket
// with one replica). Several processes on one medium take turns through
// their WORKERS primary (src/cluster.ts) or a database (pg/pg-store.ts).

import type { DocumentChange } from "./contract.js";

export class InTurn {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, step: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const run = before.then(step);
    const tail = run.catch(() => {});
    this.tails.set(key, tail);
    // The last in line removes its key, so the map holds only keys being updated.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }
}

/** Read, change, save: for stores whose documents are plain load and save. */
export function updateInTurn(
  turns: InTurn,
  store: { loadDocument(key: string): Promise<string | null>; saveDocument(key: string, text: string): Promise<void> },
  key: string,
  change: DocumentChange,
): Promise<void> {
  return turns.run(key, async () => {
    const next = await change(await store.loadDocument(key));
    if (next !== null) await store.saveDocument(key, next);
  });
}
