// Files in the storage directory are replaced atomically: written to a temp
// file beside them (same file system), fsynced, then renamed over the target,
// so a reader or a crash sees the old content or the new, never a mix.
// Temp names start with a dot, so they are never taken for packages, and are
// removed at startup if a crash left any behind.

import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";

export const TEMP_PREFIX = ".tmp-";

export function tempPath(dir: string): string {
  return join(dir, TEMP_PREFIX + randomBytes(8).toString("hex"));
}

export async function writeFileAtomic(dir: string, name: string, text: string): Promise<void> {
  const temp = tempPath(dir);
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, name));
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
