// Package names are single path segments inside the storage directory. Every
// name that reaches the file system passes through validateName first, so no
// name, in any encoding, can point outside STORAGE_PATH.

export const SIDECAR_SUFFIX = ".sha256";
const MAX_NAME_BYTES = 255; // the usual file-system limit for one path segment

/** Returns why `name` is not an acceptable package name, or null when it is. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "the file name is empty";
  if (name === "." || name === "..") return `"${name}" is not a file name`;
  if (name.startsWith(".")) return "file names may not start with a dot";
  if (/[/\\]/.test(name)) return "file names may not contain / or \\";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "file names may not contain control characters";
  if (name.toLowerCase().endsWith(SIDECAR_SUFFIX)) {
    return `file names may not end in ${SIDECAR_SUFFIX}: that suffix is reserved for checksum files`;
  }
  if (name !== name.trim()) return "file names may not start or end with white space";
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) {
    return `file names may be at most ${MAX_NAME_BYTES} bytes long`;
  }
  if (!name.isWellFormed()) return "the file name is not valid Unicode";
  return null;
}

export function isValidName(name: string): boolean {
  return nameProblem(name) === null;
}
