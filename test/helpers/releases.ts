// Shared steps for the release end-to-end tests.

import { createHash } from "node:crypto";
import type { RunningServer } from "./server.js";
import { formWith } from "./server.js";

export const AGENTS = ["claude", "gemini", "copilot", "cursor-agent", "qwen", "opencode", "codex", "windsurf", "kilocode", "auggie", "roo", "codebuddy", "amp", "q", "shai", "bob", "qoder"];
export const SCRIPTS = ["sh", "ps"] as const;

/** The 34 Spec Kit template names of one version: every agent, both script types. */
export function templateNames(version: string, agents: readonly string[] = AGENTS): string[] {
  return agents.flatMap((ai) => SCRIPTS.map((script) => `spec-kit-template-${ai}-${script}-${version}.zip`));
}

/** Distinct, recognisable bytes for a package name. */
export function bytesFor(name: string, salt = ""): Uint8Array<ArrayBuffer> {
  const seed = createHash("sha256").update(name + salt).digest();
  const out = new Uint8Array(2000 + seed[0] * 10);
  for (let i = 0; i < out.length; i++) out[i] = seed[i % seed.length] ^ (i & 0xff);
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export async function upload(server: RunningServer, name: string, bytes = bytesFor(name), overwrite = false): Promise<void> {
  const res = await fetch(`${server.url}/upload${overwrite ? "?overwrite=true" : ""}`, {
    method: "POST",
    headers: server.auth,
    body: formWith(name, bytes),
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`upload of ${name} failed: ${res.status} ${await res.text()}`);
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/**
 * What `specify init --template-url <url>` does: GET the URL, require 200,
 * take the first asset whose name contains `spec-kit-template-<ai>-<script>`
 * and ends in `.zip`, stream its browser_download_url, and check the bytes
 * against the asset's digest. Returns the asset name and the downloaded bytes' digest.
 */
export async function specifyDownload(templateUrl: string, ai: string, script: string): Promise<{ name: string; sha256: string }> {
  const res = await fetch(templateUrl, {
    headers: { accept: "application/vnd.github+json", authorization: "Bearer ghp_forwarded-github-token" },
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`GET ${templateUrl}: ${res.status}`);
  const release = (await res.json()) as { assets: { name: string; browser_download_url: string; digest: string; size: number }[] };
  const pattern = `spec-kit-template-${ai}-${script}`;
  const asset = release.assets.find((a) => a.name.includes(pattern) && a.name.endsWith(".zip"));
  if (!asset) throw new Error(`no asset matching ${pattern} in ${release.assets.map((a) => a.name).join(", ")}`);
  const download = await fetch(asset.browser_download_url, { signal: AbortSignal.timeout(30_000) });
  if (download.status !== 200 || !download.body) throw new Error(`GET ${asset.browser_download_url}: ${download.status}`);
  const hash = createHash("sha256");
  let size = 0;
  const reader = download.body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    hash.update(r.value);
    size += r.value.length;
  }
  const got = hash.digest("hex");
  if (`sha256:${got}` !== asset.digest) throw new Error(`${asset.name}: digest ${asset.digest}, downloaded bytes hash to ${got}`);
  if (size !== asset.size) throw new Error(`${asset.name}: size ${asset.size}, downloaded ${size} bytes`);
  return { name: asset.name, sha256: got };
}
