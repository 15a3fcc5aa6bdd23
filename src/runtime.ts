/** The one place that knows which JavaScript runtime we are on. */
export type Runtime = "node" | "bun" | "deno";

export function detectRuntime(): Runtime {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return "node";
}
