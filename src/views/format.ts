// Numbers and dates for people: sizes in binary units, "3 days ago" next to
// the exact UTC time, counts with their noun. Pure.

export function plural(n: number, noun: string): string {
  return `${n.toLocaleString("en-US")} ${noun}${n === 1 ? "" : "s"}`;
}

export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${n.toFixed(1)} ${units[i]}`;
}

/** "2024-05-06 07:08 UTC" */
export function exactTime(d: Date): string {
  return `${d.toISOString().replace("T", " ").slice(0, 16)} UTC`;
}

const STEPS: [limit: number, seconds: number, unit: string][] = [
  [60, 1, "second"],
  [3600, 60, "minute"],
  [86400, 3600, "hour"],
  [86400 * 30, 86400, "day"],
  [86400 * 365, 86400 * 30, "month"],
  [Infinity, 86400 * 365, "year"],
];

/** "just now", "5 minutes ago", "3 days ago", "2 years ago"; a time in the future (clock skew) is "just now". */
export function relativeTime(d: Date, now: Date): string {
  const seconds = Math.floor((now.getTime() - d.getTime()) / 1000);
  if (seconds < 10) return "just now";
  for (const [limit, size, unit] of STEPS) {
    if (seconds < limit) {
      const n = Math.floor(seconds / size);
      return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    }
  }
  return "long ago"; // unreachable: the last step has no limit
}
