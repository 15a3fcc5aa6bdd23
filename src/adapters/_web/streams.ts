// For runtimes that serve web Request/Response natively (Bun, Deno): the
// request body and the response body are passed through small wrappers that
// count bytes, notice stalls, and tell the app when a response is done.
// They read one chunk at a time (highWaterMark 0), so a slow reader holds at
// most one chunk of memory here.

import type { App, AtOnce, Connection, RequestHead } from "../../app.js";
import { withKeptBody } from "../../response-cache.js";
import { json } from "../../http.js";

export interface WebLimits {
  bodyIdleTimeout: number; // ms, 0 = off
  sendTimeout: number; // ms, 0 = off
}

/** A request whose body errors after `idleTimeout` ms without data; `timedOut()` says whether it did. */
export function watchedRequest(request: Request, idleTimeout: number): { request: Request; received: () => number; timedOut: () => boolean } {
  let received = 0;
  let timedOut = false;
  if (!request.body) return { request, received: () => 0, timedOut: () => false };
  const reader = request.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stalled = new Promise<never>((_, reject) => {
          if (idleTimeout > 0)
            timer = setTimeout(() => {
              timedOut = true;
              reject(new Error(`no data for ${idleTimeout / 1000} seconds (BODY_IDLE_TIMEOUT)`));
            }, idleTimeout);
        });
        try {
          const { done, value } = await Promise.race([reader.read(), stalled]);
          if (done) controller.close();
          else {
            received += value.byteLength;
            controller.enqueue(value);
          }
        } catch (err) {
          controller.error(err);
          void reader.cancel(err).catch(() => {});
        } finally {
          clearTimeout(timer);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  // Built from its parts rather than from `request`, whose signal would be copied (Deno warns when it is read).
  // @ts-expect-error: duplex is needed for a streamed request body; the DOM types lack it.
  const wrapped = new Request(request.url, { method: request.method, headers: request.headers, body, duplex: "half" });
  return { request: wrapped, received: () => received, timedOut: () => timedOut };
}

/** The 408 sent instead of the app's answer when the body stalled. */
export function bodyTimeoutResponse(answered: Response, idleTimeout: number): Response {
  return json({ detail: `the request body stalled for more than ${idleTimeout / 1000} seconds (BODY_IDLE_TIMEOUT); nothing was stored, send it again` }, 408, {
    connection: "close",
    "x-request-id": answered.headers.get("x-request-id") ?? "",
  });
}

/**
 * Handles one request: runs the app, answers 408 for a stalled body, and
 * wraps the response body so the app hears when it was sent or abandoned.
 */
export function handleWeb(app: App, native: Request, connection: Connection, limits: WebLimits): Response | Promise<Response> {
  // A kept answer is returned as it is, not through a promise: the runtime sends it at once.
  const method = native.method;
  if (method === "GET" || method === "HEAD") {
    let atOnce: AtOnce | undefined;
    try {
      atOnce = app.answerAtOnce(headOf(native), connection);
    } catch {
      // the ordinary path answers (and logs what fails there)
    }
    if (atOnce) return sendAtOnce(atOnce, limits.sendTimeout);
  }
  return handleFetched(app, native, connection.client, limits);
}

async function handleFetched(app: App, native: Request, client: string | undefined, limits: WebLimits): Promise<Response> {
  const watched = watchedRequest(native, limits.bodyIdleTimeout);
  // An answer kept by the response cache carries no body of its own: the runtime sends Responses as they are.
  const original = await app.fetch(watched.request, { client });
  const answered = withKeptBody(original);
  const bytesIn = () => watched.received() || Number(native.headers.get("content-length") ?? 0) || 0;
  let response = answered;
  let status: number | undefined;
  if (watched.timedOut()) {
    await answered.body?.cancel();
    response = bodyTimeoutResponse(answered, limits.bodyIdleTimeout);
    status = 408;
  }
  // The app knows its own Response (the access log is keyed by it), not the copy with the kept bytes.
  const report = (bytesOut: number, aborted: boolean) => app.finished(original, { bytesIn: bytesIn(), bytesOut, aborted, status });
  if (!response.body || native.method === "HEAD") {
    queueMicrotask(() => report(0, false));
    return response;
  }
  return new Response(observedBody(response.body, limits.sendTimeout, report), { status: response.status, headers: response.headers });
}

/** A Request as the head App.answerAtOnce reads. */
function headOf(request: Request): RequestHead {
  const url = request.url;
  const path = url.indexOf("/", url.indexOf("//") + 2);
  return { method: request.method, url, target: path < 0 ? "/" : url.slice(path), headers: request.headers };
}

/** An answer the app gave at once, as a Response; a download's is watched so it counts only once sent in full. */
function sendAtOnce(answer: AtOnce, sendTimeout: number): Response {
  const init = { status: answer.status, headers: answer.headers };
  const body = answer.body as Uint8Array<ArrayBuffer> | null;
  if (body && answer.download) {
    const whole = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    });
    return new Response(observedBody(whole, sendTimeout, (bytesOut, aborted) => answer.finished({ bytesOut, aborted })), init);
  }
  queueMicrotask(() => answer.finished({ bytesOut: body?.byteLength ?? 0, aborted: false }));
  return new Response(body, init);
}

/** Passes a body through, counting bytes; cut (errored) when the runtime takes nothing for `sendTimeout` ms. */
function observedBody(source: ReadableStream<Uint8Array>, sendTimeout: number, report: (bytesOut: number, aborted: boolean) => void): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let sent = 0;
  let reported = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = (aborted: boolean) => {
    clearTimeout(timer);
    if (reported) return;
    reported = true;
    report(sent, aborted);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        clearTimeout(timer);
        const { done, value } = await reader.read().catch((err: Error) => {
          finish(true);
          throw err;
        });
        if (done) {
          controller.close();
          finish(false);
          return;
        }
        sent += value.byteLength;
        controller.enqueue(value);
        // The runtime asks for the next chunk once the socket took this one; if it never does, the client stopped reading.
        if (sendTimeout > 0)
          timer = setTimeout(() => {
            controller.error(new Error("the client stopped reading (SEND_TIMEOUT)"));
            void reader.cancel().catch(() => {});
            finish(true);
          }, sendTimeout);
      },
      cancel(reason) {
        finish(true);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
