// The usage box: commands to copy, built from the page's own public URL, for
// the three ways people fetch a release: the Spec Kit CLI, curl with a
// checksum check, and GitHub's CLI pointed at this server.

import { escapeHtml } from "../http.js";
import { LATEST_TAG, type Release } from "../releases.js";
import type { Repository } from "../repository.js";
import { copyButton } from "./layout.js";

export type { Repository };

/** Commands for `release` (the latest view or one tag) at `site`. Pure, for the tests. */
export function usageCommands(site: string, release: Release, repository: Repository): { label: string; command: string }[] {
  const latest = release.key === LATEST_TAG;
  const tagPath = latest ? LATEST_TAG : encodeURIComponent(release.tag);
  const example = release.packages[0]?.name ?? "PACKAGE.zip";
  const download = latest ? `${site}/releases/latest/download` : `${site}/releases/download/${tagPath}`;
  const host = new URL(site).host;
  const ghTag = latest ? "" : ` ${shellQuote(release.tag)}`;
  return [
    { label: "Spec Kit", command: `specify init my-project --template-url ${site}/${latest ? "latest" : `releases/tags/${tagPath}`}` },
    {
      label: "curl",
      command: `curl -LO ${download}/${encodeURIComponent(example)}\ncurl -LO ${download}/SHA256SUMS\nsha256sum -c --ignore-missing SHA256SUMS`,
    },
    {
      label: "GitHub CLI",
      // gh talks to a GitHub Enterprise host's /api/v3; reads accept any token.
      command: `GH_HOST=${host} GH_ENTERPRISE_TOKEN=read gh release download${ghTag} -R ${repository.owner}/${repository.repo} -p ${shellQuote(example)}`,
    },
  ];
}

export function usageBox(site: string, release: Release, repository: Repository): string {
  const items = usageCommands(site, release, repository)
    .map(
      ({ label, command }) =>
        `<div class="cmd"><h3>${escapeHtml(label)}</h3><div class="cmd-row"><pre><code>${escapeHtml(command)}</code></pre>${copyButton(command, `Copy the ${label} command`)}</div></div>`,
    )
    .join("\n");
  return `<section class="usage" aria-labelledby="usage-title"><h2 id="usage-title">Use it</h2>\n${items}\n</section>`;
}

/** Single quotes when a name needs them in a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9._+\-\/=:@%,]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
