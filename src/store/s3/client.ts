// A small S3 client: the dozen REST calls the object-storage backend makes,
// signed with SigV4 by aws4fetch over the platform's fetch (so it runs
// unchanged on Node, Bun and Deno), except the ones that carry bytes we hold
// (an upload's parts), which go over node:http, in Node, Bun and Deno alike:
// fetch copies a Uint8Array body before it sends it, and those copies of every
// part were most of what a large upload added to the process. Path-style or
// virtual-hosted URLs, XML answers read with a few patterns: S3's list and
// error documents are flat.
//
// Every failure is an S3Error carrying the HTTP status and S3's error code, or
// status 0 when the endpoint could not be reached at all.

import { AwsClient } from "aws4fetch";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

export interface S3Settings {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface HeadInfo extends ObjectInfo {
  metadata: Record<string, string>;
}

export interface MultipartInfo {
  key: string;
  uploadId: string;
  initiated: Date;
}

export class S3Error extends Error {
  constructor(
    readonly status: number, // 0: no answer (unreachable, refused, reset)
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "S3Error";
  }
}

interface RequestOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Statuses that are answers, not errors (404 for a HEAD, 412 for If-Match). */
  accept?: number[];
  signal?: AbortSignal;
}

export class S3Client {
  private readonly aws: AwsClient;
  private readonly base: URL;

  constructor(readonly settings: S3Settings) {
    // Retries are ours to decide: a streamed body cannot be sent twice.
    this.aws = new AwsClient({ accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey, service: "s3", region: settings.region, retries: 0 });
    this.base = new URL(settings.endpoint);
  }

  /** The URL of an object (or of the bucket, for key ""). */
  url(key: string, query: Record<string, string> = {}): URL {
    const path = key.split("/").map(encodeSegment).join("/");
    const url = new URL(this.base.href);
    const basePath = url.pathname.replace(/\/+$/, "");
    if (this.settings.forcePathStyle) url.pathname = `${basePath}/${encodeSegment(this.settings.bucket)}/${path}`;
    else {
      url.hostname = `${this.settings.bucket}.${url.hostname}`;
      url.pathname = `${basePath}/${path}`;
    }
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url;
  }

  async request(method: string, key: string, opts: RequestOptions = {}): Promise<Response> {
    const url = this.url(key, opts.query);
    let response: Response;
    try {
      response =
        opts.body instanceof Uint8Array
          ? await this.sendHeld(method, url, opts.headers ?? {}, opts.body)
          : await this.aws.fetch(url.href, { method, headers: opts.headers, body: opts.body, signal: opts.signal });
    } catch (err) {
      // fetch wraps the socket's error in its cause; node:http throws it as is.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause ?? (err as { code?: string; message?: string });
      throw new S3Error(0, cause?.code ?? "NetworkError", `cannot reach ${this.base.origin}: ${cause?.message ?? (err as Error).message}`);
    }
    if (response.ok || opts.accept?.includes(response.status)) return response;
    const text = method === "HEAD" ? "" : await response.text().catch(() => "");
    const code = tag(text, "Code") ?? statusCode(response.status);
    const message = tag(text, "Message") ?? `HTTP ${response.status}`;
    throw new S3Error(response.status, code, `${method} ${key || "bucket"}: ${code}: ${message}`);
  }

  /**
   * Sends bytes we hold as they are, without fetch's copy. The payload is not part of the signature
   * (UNSIGNED-PAYLOAD, as aws4fetch signs every S3 request): the upload's own SHA-256 is what the
   * server checks them against.
   */
  private async sendHeld(method: string, url: URL, headers: Record<string, string>, body: Uint8Array): Promise<Response> {
    const signed = await this.aws.sign(url.href, { method, headers }); // the head alone: no body to copy
    const head: Record<string, string> = { "content-length": String(body.byteLength) };
    signed.headers.forEach((value, name) => (head[name] = value));
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method, headers: head }, resolve);
      req.once("error", reject);
      req.end(body);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of answer) chunks.push(chunk as Buffer);
    const headersOut = new Headers();
    for (let i = 0; i < answer.rawHeaders.length; i += 2) headersOut.append(answer.rawHeaders[i], answer.rawHeaders[i + 1]);
    const status = answer.statusCode ?? 0;
    // A Response cannot carry a body with these statuses.
    const empty = status === 204 || status === 304 || method === "HEAD";
    return new Response(empty ? null : Buffer.concat(chunks), { status, statusText: answer.statusMessage, headers: headersOut });
  }

  async headBucket(): Promise<void> {
    await this.request("HEAD", "");
  }

  async head(key: string): Promise<HeadInfo | null> {
    const r = await this.request("HEAD", key, { accept: [404] });
    if (r.status === 404) return null;
    const metadata: Record<string, string> = {};
    r.headers.forEach((v, k) => {
      if (k.startsWith("x-amz-meta-")) metadata[k.slice(11)] = v;
    });
    return {
      key,
      size: Number(r.headers.get("content-length")),
      etag: r.headers.get("etag") ?? "",
      lastModified: new Date(r.headers.get("last-modified") ?? 0),
      metadata,
    };
  }

  /** GET of bytes start..end (inclusive; whole object without them); null when the object is gone or changed (If-Match). */
  async get(key: string, opts: { start?: number; end?: number; ifMatch?: string; signal?: AbortSignal } = {}): Promise<Response | null> {
    const headers: Record<string, string> = {};
    if (opts.start !== undefined) headers.range = `bytes=${opts.start}-${opts.end ?? ""}`;
    if (opts.ifMatch) headers["if-match"] = opts.ifMatch;
    const r = await this.request("GET", key, { headers, accept: [404, 412], signal: opts.signal });
    if (r.status === 404 || r.status === 412) {
      await r.body?.cancel();
      return null;
    }
    return r;
  }

  async getText(key: string): Promise<string | null> {
    const r = await this.get(key);
    return r && r.text();
  }

  async put(key: string, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<string> {
    const r = await this.request("PUT", key, { body, headers });
    await r.body?.cancel();
    return r.headers.get("etag") ?? "";
  }

  /** Server-side copy, replacing the metadata. */
  async copy(from: string, to: string, metadata: Record<string, string>): Promise<void> {
    const headers: Record<string, string> = {
      "x-amz-copy-source": `/${encodeSegment(this.settings.bucket)}/${from.split("/").map(encodeSegment).join("/")}`,
      "x-amz-metadata-directive": "REPLACE",
      "content-type": "application/octet-stream",
    };
    for (const [k, v] of Object.entries(metadata)) headers[`x-amz-meta-${k}`] = v;
    const r = await this.request("PUT", to, { headers });
    // A copy can fail after the 200 has been sent: the error is then in the body.
    const text = await r.text();
    if (/<Error>/.test(text)) throw new S3Error(500, tag(text, "Code") ?? "CopyFailed", `copy to ${to}: ${tag(text, "Message") ?? text}`);
  }

  async delete(key: string): Promise<void> {
    const r = await this.request("DELETE", key, { accept: [404] });
    await r.body?.cancel();
  }

  /**
   * Every object under `prefix`, in S3's order (UTF-8 bytes); with a
   * delimiter, only those not below another one. `range` lists a slice: the
   * keys after `after` up to and including `upTo`, so slices can be listed side by side.
   */
  async *list(prefix: string, delimiter?: string, range: { after?: string; upTo?: string } = {}): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    const upTo = range.upTo === undefined ? null : Buffer.from(range.upTo);
    do {
      const query: Record<string, string> = { "list-type": "2", prefix, "max-keys": "1000", "encoding-type": "url" };
      if (delimiter) query.delimiter = delimiter;
      if (token) query["continuation-token"] = token;
      else if (range.after !== undefined) query["start-after"] = range.after;
      const text = await (await this.request("GET", "", { query })).text();
      for (const item of blocks(text, "Contents")) {
        const key = decodeURIComponent(tag(item, "Key")!.replace(/\+/g, " "));
        if (upTo && Buffer.compare(Buffer.from(key), upTo) > 0) return;
        yield { key, size: Number(tag(item, "Size")), etag: tag(item, "ETag") ?? "", lastModified: new Date(tag(item, "LastModified")!) };
      }
      token = tag(text, "IsTruncated") === "true" ? tag(text, "NextContinuationToken") : undefined;
    } while (token);
  }

  async createMultipart(key: string, headers: Record<string, string> = {}): Promise<string> {
    const text = await (await this.request("POST", key, { query: { uploads: "" }, headers })).text();
    const id = tag(text, "UploadId");
    if (!id) throw new S3Error(500, "BadResponse", `no UploadId in the answer to create a multipart upload of ${key}`);
    return id;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    const r = await this.request("PUT", key, { query: { partNumber: String(partNumber), uploadId }, body });
    await r.body?.cancel();
    return r.headers.get("etag") ?? "";
  }

  async completeMultipart(key: string, uploadId: string, etags: string[]): Promise<void> {
    const body =
      "<CompleteMultipartUpload>" +
      etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`).join("") +
      "</CompleteMultipartUpload>";
    const text = await (await this.request("POST", key, { query: { uploadId }, body, headers: { "content-type": "application/xml" } })).text();
    if (/<Error>/.test(text)) throw new S3Error(500, tag(text, "Code") ?? "CompleteFailed", `complete ${key}: ${tag(text, "Message") ?? text}`);
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    const r = await this.request("DELETE", key, { query: { uploadId }, accept: [404] });
    await r.body?.cancel();
  }

  async listMultipartUploads(prefix: string): Promise<MultipartInfo[]> {
    const out: MultipartInfo[] = [];
    let marker: Record<string, string> = {};
    for (;;) {
      const text = await (await this.request("GET", "", { query: { uploads: "", prefix, ...marker } })).text();
      for (const item of blocks(text, "Upload")) {
        out.push({ key: unescapeXml(tag(item, "Key")!), uploadId: tag(item, "UploadId")!, initiated: new Date(tag(item, "Initiated")!) });
      }
      if (tag(text, "IsTruncated") !== "true") return out;
      marker = { "key-marker": tag(text, "NextKeyMarker") ?? "", "upload-id-marker": tag(text, "NextUploadIdMarker") ?? "" };
    }
  }

  /** A presigned GET URL valid for `seconds`. */
  async presign(key: string, seconds: number, responseHeaders: Record<string, string> = {}): Promise<string> {
    const url = this.url(key, { "X-Amz-Expires": String(seconds), ...responseHeaders });
    const signed = await this.aws.sign(url.href, { method: "GET", aws: { signQuery: true } });
    return signed.url;
  }
}

/** RFC 3986 encoding of one path segment, as SigV4 wants it. */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? unescapeXml(m[1]) : undefined;
}

function blocks(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, "g"))].map((m) => m[1]);
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e.toLowerCase()]!;
  });
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function statusCode(status: number): string {
  return { 301: "PermanentRedirect", 400: "BadRequest", 403: "AccessDenied", 404: "NotFound" }[status] ?? `HTTP${status}`;
}
