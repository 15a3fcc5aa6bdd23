import { bearerAuth } from "../auth.js";
import type { Deps, Handler } from "../context.js";
import { checkSha256, expectedSha256 } from "../checksum.js";
import { HttpError, json } from "../http.js";
import { MULTIPART_OVERHEAD, receiveMultipart } from "../multipart.js";
import { packageJson } from "../package-json.js";
import { packagesToDelete } from "../retention.js";
import { ConflictError } from "../storage.js";
import { requireValidName } from "./packages.js";

/** POST /upload?overwrite=: a multipart upload, stored atomically, then retention. */
export function uploadPackage(deps: Deps): Handler {
  const authorize = bearerAuth(deps.config.authToken);
  const { storage, config } = deps;
  return async ({ request, url }) => {
    authorize(request);
    const overwrite = booleanParam(url, "overwrite");
    const declared = Number(request.headers.get("content-length") ?? NaN);
    if (declared > config.maxUploadSize + MULTIPART_OVERHEAD) throw tooLarge(config.maxUploadSize);

    const upload = await receiveMultipart(request, {
      storage,
      maxBytes: config.maxUploadSize,
      checkName: async (filename) => {
        requireValidName(filename);
        if (!overwrite && (await storage.get(filename))) throw conflict(filename);
      },
    });
    try {
      if (upload.temp.size === 0) throw new HttpError(400, `"${upload.filename}" is empty; refusing to store a zero-byte package`);
      checkSha256(expectedSha256(request.headers, upload.fields.get("sha256")), upload.temp.sha256);
    } catch (err) {
      await storage.discard(upload.temp);
      throw err;
    }
    const entry = await storage.commit(upload.temp, upload.filename, overwrite).catch((err) => {
      throw err instanceof ConflictError ? conflict(upload.filename) : err;
    });
    deps.log(`stored ${entry.name} (${entry.size} bytes, sha256 ${entry.sha256})`);
    await applyRetention(deps);
    return json(packageJson(entry));
  };
}

async function applyRetention({ storage, config, log }: Deps): Promise<void> {
  for (const old of packagesToDelete(await storage.list(), config.maxPackages)) {
    if (await storage.remove(old.name)) log(`retention: deleted ${old.name} (MAX_PACKAGES=${config.maxPackages})`);
  }
}

export function booleanParam(url: URL, key: string): boolean {
  const value = url.searchParams.get(key);
  if (value === null || value === "") return false;
  const v = value.toLowerCase();
  if (["true", "1", "yes", "on"].includes(v)) return true;
  if (["false", "0", "no", "off"].includes(v)) return false;
  throw new HttpError(422, `${key} must be true or false, not ${JSON.stringify(value)}`);
}

function conflict(name: string): HttpError {
  return new HttpError(409, `a package named "${name}" already exists; add ?overwrite=true to replace it`);
}

export function tooLarge(limit: number): HttpError {
  return new HttpError(413, `the upload is larger than MAX_UPLOAD_SIZE (${limit} bytes)`, { connection: "close" });
}

