// Package names: the one place that says which names are acceptable. A name is
// one path segment inside the storage directory, so no name, in any encoding,
// can point outside it; and it is shown to people, so it may not hide or
// reorder what they read.

export const SIDECAR_SUFFIX = ".sha256";

/**
 * A file system allows 255 bytes in one path segment, and every package is
 * stored beside its `<name>.sha256` sidecar, so a package name may use the
 * 255 bytes less the suffix. Object stores allow more; one limit for every
 * backend keeps a volume movable between them.
 */
export const MAX_NAME_BYTES = 255 - SIDECAR_SUFFIX.length;

/** Returns why `name` is not an acceptable package name, or null when it is. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "the file name is empty";
  if (name === "." || name === "..") return `"${name}" is not a file name`;
  if (name.startsWith(".")) return "file names may not start with a dot";
  if (/[/\\]/.test(name)) return "file names may not contain / or \\";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "file names may not contain control characters";
  // Right-to-left overrides and their kin make a name display differently from
  // what it is ("exe.zip" shown for "piz.exe"): a classic way to disguise a file.
  if (/\p{Bidi_Control}/u.test(name)) return "file names may not contain bidirectional control characters (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)";
  if (!name.isWellFormed()) return "the file name is not valid Unicode";
  // U+FFFD is what a decoder puts where the bytes were not valid UTF-8: the
  // name the client meant is lost, so refuse it rather than store a guess.
  if (name.includes("\ufffd")) return "the file name is not valid UTF-8 (it contains U+FFFD, the replacement character)";
  if (name.toLowerCase().endsWith(SIDECAR_SUFFIX)) {
    return `file names may not end in ${SIDECAR_SUFFIX}: that suffix is reserved for checksum files`;
  }
  if (name !== name.trim()) return "file names may not start or end with white space";
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) {
    return `file names may be at most ${MAX_NAME_BYTES} bytes long in UTF-8 (255, the file system's limit, less the "${SIDECAR_SUFFIX}" of the checksum file beside it)`;
  }
  return null;
}

export function isValidName(name: string): boolean {
  return nameProblem(name) === null;
}
