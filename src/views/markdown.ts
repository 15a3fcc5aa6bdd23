// Release notes from Markdown, safely: markdown-it with raw HTML disabled, so
// every `<` a note contains is escaped text, and with its default link check,
// which refuses javascript:, vbscript:, file: and non-image data: URLs. The
// page's CSP stops anything that slipped through from loading or running.

import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

// Links in notes leave the site: no referrer, no access to this window.
const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet("rel", "nofollow noopener noreferrer");
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(source: string): string {
  return md.render(source);
}
