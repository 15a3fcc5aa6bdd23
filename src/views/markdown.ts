// Release notes from Markdown, safely: markdown-it with raw HTML disabled, so
// every `<` a note contains is escaped text, and with its default link check,
// which refuses javascript:, vbscript:, file: and non-image data: URLs. The
// page's CSP stops anything that slipped through from loading or running.
//
// markdown-it is loaded by the first page that shows notes (loadMarkdown), not
// at startup: it costs memory and start-up time a server that only hands out
// packages never needs.

import type MarkdownIt from "markdown-it";

let md: MarkdownIt | null = null;

/** Loads the renderer; pages await it before rendering notes. */
export async function loadMarkdown(): Promise<void> {
  if (md) return;
  const { default: MarkdownItClass } = await import("markdown-it");
  const renderer = new MarkdownItClass({ html: false, linkify: true, typographer: false });
  // Links in notes leave the site: no referrer, no access to this window.
  const defaultLinkOpen = renderer.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  renderer.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer");
    return defaultLinkOpen(tokens, idx, options, env, self);
  };
  md = renderer;
}

export function renderMarkdown(source: string): string {
  if (!md) throw new Error("renderMarkdown before loadMarkdown()");
  return md.render(source);
}
