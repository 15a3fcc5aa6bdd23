// Cache-Control for package downloads. A package whose name carries a version
// is, by convention, never changed once published, so shared caches may keep
// it for a day; an overwrite (a correction) is therefore seen by caches within
// a day, and by us at once: every response is built from the file on disk and
// carries an ETag derived from its sha256. Names without a version (say
// "installer.sh") are meant to change, so caches must revalidate every time
// (a cheap 304 when unchanged).

import { parseName } from "./version.js";

const VERSIONED_MAX_AGE = 86400;

export function cacheControlFor(name: string): string {
  return parseName(name).version ? `public, max-age=${VERSIONED_MAX_AGE}` : "public, no-cache";
}
