// POST .../releases/generate-notes: GitHub writes notes from pull requests;
// this server has none, so the notes list the release's assets. Pure.

import type { PackageEntry } from "../store/index.js";

export function releaseNotes(tag: string, assets: readonly PackageEntry[]): { name: string; body: string } {
  const lines = assets.map((p) => `- \`${p.name}\` (${p.size} bytes, sha256 \`${p.sha256}\`)`);
  const body = `## Assets\n\n${lines.length ? lines.join("\n") : "No assets yet."}\n`;
  return { name: tag, body };
}
