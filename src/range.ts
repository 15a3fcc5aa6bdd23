// Byte ranges (RFC 9110 §14). A single range is served as 206; several ranges
// get the whole file (allowed by §14.2 and simpler than multipart/byteranges
// for clients to handle); a syntactically invalid header is ignored.

export type RangeResult =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number } // end is inclusive
  | { kind: "unsatisfiable" };

export function evaluateRange(header: string | null, size: number): RangeResult {
  if (header === null) return { kind: "full" };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: "full" }; // another range unit: ignore it
  const specs = m[1].split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length !== 1) return { kind: "full" };
  const spec = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0]);
  if (!spec || (spec[1] === "" && spec[2] === "")) return { kind: "full" };
  if (spec[1] === "") {
    // Suffix range: the last N bytes ("bytes=-500").
    const length = Number(spec[2]);
    if (length === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(spec[1]);
  const last = spec[2] === "" ? Infinity : Number(spec[2]);
  if (last < start) return { kind: "full" }; // invalid: ignored
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", start, end: Math.min(last, size - 1) };
}
