// What can go wrong in a store, as types the HTTP layer maps to statuses in
// one place (src/app.ts). Each carries a sentence a person can act on.

export abstract class StoreError extends Error {
  abstract readonly kind: "conflict" | "too-large" | "invalid-name" | "full" | "unavailable" | "aborted";
  constructor(readonly detail: string) {
    super(detail);
    this.name = new.target.name;
  }
}

/** The name is taken and the commit was not an overwrite. */
export class ConflictError extends StoreError {
  readonly kind = "conflict";
}

/** The upload went past the size limit it was staged with. */
export class TooLargeError extends StoreError {
  readonly kind = "too-large";
}

/** The backend cannot store this name (for example, too long for the file system). */
export class InvalidNameError extends StoreError {
  readonly kind = "invalid-name";
}

/** No space (or quota) left; nothing was stored. */
export class StorageFullError extends StoreError {
  readonly kind = "full";
}

/** The storage cannot be used right now: read-only, missing, not permitted, failing. */
export class StorageUnavailableError extends StoreError {
  readonly kind = "unavailable";
}

/** The client stopped sending before the upload was complete; nothing was stored. */
export class UploadAbortedError extends StoreError {
  readonly kind = "aborted";
}
