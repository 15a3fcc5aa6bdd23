// The one place that reads errno: file-system failures become the store's
// typed errors, with a sentence an operator can act on. Anything not listed
// here is a bug, not a condition of the disk, and stays as it is.

import { stat } from "node:fs/promises";
import { InvalidNameError, StorageFullError, StorageUnavailableError, StoreError } from "../errors.js";

export function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Translates `err` from an operation in `dir` into a StoreError where it names a condition of the storage. */
export async function translate(err: unknown, dir: string): Promise<unknown> {
  if (err instanceof StoreError) return err;
  switch (errnoOf(err)) {
    case "ENOSPC":
    case "EDQUOT":
      return new StorageFullError("the storage volume is full; nothing was stored. Delete packages to free space, or grow the volume");
    case "EROFS":
      return new StorageUnavailableError("the storage volume is read-only; nothing was changed. Mount it read-write to store or delete packages");
    case "EACCES":
    case "EPERM":
      return new StorageUnavailableError("the server is not permitted to change the storage directory; nothing was changed. Check its owner and mode");
    case "EIO":
      return new StorageUnavailableError("the storage volume reported an I/O error; check the disk");
    case "EMFILE":
    case "ENFILE":
      return new StorageUnavailableError("the server has too many open files; try again shortly");
    case "ENAMETOOLONG":
      return new InvalidNameError("the name is too long for the storage file system");
    case "ENOENT":
    case "ENOTDIR":
      // A file vanishing is ordinary (handled where it happens); the directory vanishing is not.
      if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
        return new StorageUnavailableError("the storage directory is missing; mount it again, or restart the server to create it");
      }
  }
  return err;
}
