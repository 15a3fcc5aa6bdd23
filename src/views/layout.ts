// The frame every page shares: head, navigation, footer, and the headers that
// go with it. Styles and scripts are files from our own origin (/static/), so
// the Content-Security-Policy can forbid everything inline.

import { escapeHtml } from "../http.js";

/** Nothing but our own files may load or run; no inline script or style; no framing. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "referrer-policy": "same-origin",
} as const;

export type Section = "releases" | "packages" | "docs" | "home";

export interface PageOptions {
  /** Plain text. */
  title: string;
  /** The navigation entry to mark as current. */
  section: Section;
  /** HTML the caller escaped. */
  body: string;
  /** Extra elements for <head>: more of our own stylesheets and scripts. */
  head?: string;
}

const NAV: [Section, string, string][] = [
  ["releases", "/releases", "Releases"],
  ["packages", "/packages", "Packages"],
  ["docs", "/docs", "API"],
];

export function page({ title, section, body, head = "" }: PageOptions): string {
  const nav = NAV.map(([s, href, label]) => `<a href="${href}"${s === section ? ' aria-current="page"' : ""}>${label}</a>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
${head}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="wrap"><a class="brand" href="/">Release Server</a><nav aria-label="Main">${nav}</nav></div></header>
<main id="main" class="wrap">
${body}
</main>
<footer class="wrap"><a href="/openapi.yaml">openapi.yaml</a> · <a href="/docs">API docs</a> · <a href="/packages?format=json">packages.json</a></footer>
</body>
</html>
`;
}

/** The filter box: shown by app.js (it does nothing without JavaScript). */
export function filterBox(placeholder: string): string {
  return `<div class="filter" data-js hidden><label for="filter">Filter</label><input id="filter" type="search" placeholder="${escapeHtml(placeholder)}" autocomplete="off" spellcheck="false" aria-describedby="filter-count" aria-keyshortcuts="/"><output id="filter-count" aria-live="polite"></output></div>`;
}

/** A copy button for `text`, shown by app.js. `label` says what it copies, for screen readers. */
export function copyButton(text: string, label: string): string {
  return `<button type="button" class="copy" data-js hidden data-copy="${escapeHtml(text)}" aria-label="${escapeHtml(label)}" title="${escapeHtml(label)}">Copy</button>`;
}
