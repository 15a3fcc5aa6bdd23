// Small response helpers shared by the routes. Errors are JSON {"detail": "..."}
// with a sentence a person can act on.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  // JSON is always UTF-8 (RFC 8259), so no charset parameter.
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}

export function text(body: string, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "text/plain; charset=utf-8");
  return new Response(body, { status, headers: h });
}

export function errorResponse(err: HttpError): Response {
  return json({ detail: err.detail }, err.status, err.headers);
}

/** `attachment; filename="..."`, plus RFC 6266 `filename*` when the name is not plain ASCII. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  if (ascii === name) return `attachment; filename="${name}"`;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The media type among `offered` that the Accept header prefers; the first offered wins ties. */
export function negotiate(accept: string | null, offered: readonly string[]): string {
  if (!accept) return offered[0];
  const ranges = accept.split(",").map((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const quality = q ? Number(q.slice(2)) : 1;
    return { type: type.trim(), q: Number.isFinite(quality) ? quality : 0 };
  });
  const qualityOf = (mediaType: string): number => {
    const [major] = mediaType.split("/");
    let best = -1;
    let specificity = -1;
    for (const r of ranges) {
      const s = r.type === mediaType ? 2 : r.type === `${major}/*` ? 1 : r.type === "*/*" ? 0 : -1;
      if (s > specificity) {
        specificity = s;
        best = r.q;
      }
    }
    return best;
  };
  let choice = offered[0];
  let choiceQ = qualityOf(choice);
  for (const type of offered.slice(1)) {
    const q = qualityOf(type);
    if (q > choiceQ) {
      choice = type;
      choiceQ = q;
    }
  }
  return choice;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
