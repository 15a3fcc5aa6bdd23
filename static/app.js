// Release Server pages: small improvements on top of complete server-rendered
// HTML. Shows the filter box and copy buttons (hidden without JavaScript),
// filters releases and assets as you type ("/" focuses the box, Escape clears
// it), and copies digests and commands. Served as a file: the CSP allows no
// inline script.
"use strict";

(() => {
  for (const el of document.querySelectorAll("[data-js][hidden]")) el.hidden = false;

  // "3 days ago" as of now: the server keeps built pages until the packages
  // change, so the relative times it wrote may be older than the page view.
  const STEPS = [[60, 1, "second"], [3600, 60, "minute"], [86400, 3600, "hour"], [86400 * 30, 86400, "day"], [86400 * 365, 86400 * 30, "month"], [Infinity, 86400 * 365, "year"]];
  function relativeTime(then) {
    const seconds = Math.floor((Date.now() - then) / 1000);
    if (seconds < 10) return "just now";
    const [, size, unit] = STEPS.find(([limit]) => seconds < limit);
    const n = Math.floor(seconds / size);
    return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  }
  for (const time of document.querySelectorAll("time[datetime]")) {
    const then = Date.parse(time.getAttribute("datetime"));
    if (!Number.isNaN(then)) time.textContent = relativeTime(then);
  }

  // Copy buttons: the Clipboard API where the page is a secure context, else a
  // selected textarea and execCommand (plain-http servers on the network).
  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("copy refused");
  }

  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
    if (!button) return;
    const label = button.textContent;
    try {
      await copy(button.dataset.copy);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Press Ctrl+C";
    }
    setTimeout(() => (button.textContent = label), 1500);
  });

  const input = document.getElementById("filter");
  if (!input) return;
  const count = document.getElementById("filter-count");
  const sections = [...document.querySelectorAll(".release")];
  const totalRows = document.querySelectorAll(".release tr[data-name]").length;

  function apply() {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    const matches = (text) => words.every((w) => text.includes(w));
    let shown = 0;
    for (const section of sections) {
      const releaseMatches = words.length > 0 && matches(section.dataset.filter || "");
      let visible = 0;
      for (const row of section.querySelectorAll("tr[data-name]")) {
        const show = words.length === 0 || releaseMatches || matches(row.dataset.name);
        row.hidden = !show;
        if (show) visible++;
      }
      shown += visible;
      section.hidden = words.length > 0 && visible === 0 && !releaseMatches;
      const details = section.querySelector("details");
      if (details) {
        if (!("initiallyOpen" in details.dataset)) details.dataset.initiallyOpen = String(details.open);
        details.open = words.length > 0 ? !section.hidden : details.dataset.initiallyOpen === "true";
      }
    }
    count.textContent = words.length ? `${shown} of ${totalRows} packages` : "";
  }

  input.addEventListener("input", apply);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && input.value) {
      input.value = "";
      apply();
    }
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLElement && event.target.matches("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
    }
  });
  if (input.value) apply(); // a value the browser restored on back/forward
})();
