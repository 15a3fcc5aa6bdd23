// Token rotation without a restart: the token file is re-read on SIGHUP, when
// it changes (fs.watch on its directory, which also sees a Kubernetes secret's
// symlink swap), and every few seconds as a fallback where watching does not
// work. A file that cannot be read, or holds no token, keeps the tokens in use.

import { createHash } from "node:crypto";
import { watch, readFileSync, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import type { TokenAuth } from "../auth.js";
import { readTokenFile } from "../config.js";
import type { Logger } from "./log.js";

const POLL_MS = 5000;

export function watchTokenFile(path: string, key: string, initialText: string, auth: TokenAuth, log: Logger): () => void {
  let current = fingerprint(initialText);
  const reload = (why: string) => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
      if (fingerprint(text) === current) return;
      const { authTokens } = readTokenFile(path, key, () => text);
      auth.replace(authTokens);
    } catch (err) {
      // The message names the file and the reason, never what it holds.
      log.error("token file not reloaded; the previous tokens stay in use", { file: path, reason: (err as Error).message, trigger: why });
      return;
    }
    current = fingerprint(text);
    log.info("token file reloaded", { file: path, tokens: auth.size, trigger: why });
  };

  let debounce: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => reload("file changed"), 100);
    });
    watcher.on("error", () => watcher?.close());
    watcher.unref?.();
  } catch {
    // No watching on this file system: SIGHUP and the poll still work.
  }
  const poll = setInterval(() => reload("poll"), POLL_MS);
  poll.unref?.();
  const onHup = () => reload("SIGHUP");
  process.on("SIGHUP", onHup);
  return () => {
    watcher?.close();
    clearInterval(poll);
    clearTimeout(debounce);
    process.off("SIGHUP", onHup);
  };
}

function fingerprint(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
